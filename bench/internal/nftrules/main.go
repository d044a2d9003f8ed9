// Command nftrules prints the number of rules in the IPv4 nftables table named by its
// argument (0 when the table does not exist): `nft -a list table ip NAME | grep -c handle`
// for hosts without the nft binary. With -d it deletes the table instead (`nft delete
// table ip NAME`). bench/soak.sh uses it to find the rules a root leaked.
//
//	nftrules [-d] TABLE
package main

import (
	"fmt"
	"os"

	"github.com/google/nftables"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-d" {
		if err := remove(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "nftrules: delete table ip %s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: nftrules [-d] TABLE")
		os.Exit(2)
	}
	n, err := count(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "nftrules: table ip %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Println(n)
}

// count returns the rules of every chain of table ip name.
func count(name string) (int, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != name {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return 0, fmt.Errorf("chain %s: %w", ch.Name, err)
		}
		n += len(rules)
	}
	return n, nil
}

// remove deletes table ip name.
func remove(name string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: name})
	return c.Flush()
}
