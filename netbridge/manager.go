package netbridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
)

// DefaultNetwork is the name of the network containers join when none is named, like
// Docker's "bridge". It is created on first use (by Attach) on the bridge "skiff0".
const DefaultNetwork = "bridge"

// DefaultBridge is the bridge device of DefaultNetwork unless WithDefaultBridge says
// otherwise.
const DefaultBridge = "skiff0"

// DefaultTable is the nftables table (family ip) that holds Skiff's rules unless WithTable
// says otherwise.
const DefaultTable = "skiff"

// Network is one bridge network as persisted in the state dir.
type Network struct {
	// Name is the user-facing name ("bridge" for the default network).
	Name string `json:"name"`
	// ID is 64 random hex digits.
	ID string `json:"id"`
	// Bridge is the Linux bridge device (at most 15 bytes).
	Bridge string `json:"bridge"`
	// Subnet is the IPv4 prefix containers get addresses from.
	Subnet netip.Prefix `json:"subnet"`
	// Gateway is the bridge's own address, the containers' default gateway.
	Gateway netip.Addr `json:"gateway"`
	// Created is when CreateNetwork ran.
	Created time.Time `json:"created"`
	// Labels are the user's key-value metadata (docker network create --label).
	Labels map[string]string `json:"labels,omitempty"`
	// Internal networks reach nothing beyond their bridge: no outbound NAT, no
	// forwarding to other interfaces (docker network create --internal).
	Internal bool `json:"internal,omitempty"`
	// IPRange and AuxAddresses are NetworkConfig's.
	IPRange      netip.Prefix          `json:"ip_range,omitzero"`
	AuxAddresses map[string]netip.Addr `json:"aux_addresses,omitempty"`
}

// NetworkConfig says what CreateNetwork makes. Only Name is required.
type NetworkConfig struct {
	// Name of the network: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 bytes.
	Name string
	// Subnet is an IPv4 prefix such as 10.5.0.0/24. The zero value picks the first prefix
	// of the default pool (172.17.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/20 ...
	// 192.168.240.0/20) that overlaps neither a host route nor another network.
	Subnet netip.Prefix
	// Bridge is the bridge device name. Empty means DefaultBridge (or WithDefaultBridge)
	// for DefaultNetwork and "skiff-" + the first 8 digits of the network ID otherwise.
	Bridge string
	// Labels are stored with the network and returned in Network.Labels.
	Labels map[string]string
	// Internal makes a network without access beyond its bridge (Network.Internal).
	Internal bool
	// Gateway is the bridge's address, a host address of Subnet (which it requires).
	// The zero value is the first host address.
	Gateway netip.Addr
	// IPRange is the part of Subnet (which it requires) that containers get addresses
	// from unless they ask for one; zero: all of it.
	IPRange netip.Prefix
	// AuxAddresses are addresses of Subnet never handed out, by name.
	AuxAddresses map[string]netip.Addr
}

// Manager manages the bridge networks recorded in one state dir. All its methods are
// safe for concurrent use, and several Managers (in one or many processes) may share a
// state dir: every operation runs under an exclusive flock on <stateDir>/lock.
type Manager struct {
	dir           string
	claimDir      string
	defaultSubnet netip.Prefix
	mtu           int
	log           *slog.Logger

	namesMu       sync.Mutex // guards the names below, fixed by settleNames
	settled       bool
	table         string
	defaultBridge string
	abs           string // the state dir, absolute, as claims name it
}

// Option configures a Manager.
type Option func(*Manager)

// WithDefaultBridge sets the bridge device of DefaultNetwork. Default: "skiff0".
func WithDefaultBridge(name string) Option { return func(m *Manager) { m.defaultBridge = name } }

// WithDefaultSubnet sets the subnet of DefaultNetwork. Default: chosen from the pool, see
// NetworkConfig.Subnet.
func WithDefaultSubnet(p netip.Prefix) Option { return func(m *Manager) { m.defaultSubnet = p } }

// WithTable sets the nftables table (family ip) holding the rules. Default: "skiff".
// Each Manager rewrites its whole table from its own state, so two state dirs cannot
// share one: a Manager whose table (or default bridge) another state dir claimed
// uses names derived from its state dir instead (see WithClaimDir).
func WithTable(name string) Option { return func(m *Manager) { m.table = name } }

// WithMTU sets the MTU of bridges and veths. Default: the MTU of the link carrying the
// host's default route at Attach time, 1500 if there is none.
func WithMTU(mtu int) Option { return func(m *Manager) { m.mtu = mtu } }

// WithLogger sets the logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(m *Manager) { m.log = l } }

// New returns a Manager over stateDir (conventionally <engine root>/network), creating
// the directory if needed. It touches no kernel state.
func New(stateDir string, opts ...Option) (*Manager, error) {
	m := &Manager{dir: stateDir, table: DefaultTable, defaultBridge: DefaultBridge, claimDir: DefaultClaimDir, log: slog.Default()}
	for _, o := range opts {
		o(m)
	}
	if err := validIfName(m.defaultBridge); err != nil {
		return nil, fmt.Errorf("default bridge: %w", err)
	}
	if !validName.MatchString(m.table) {
		return nil, fmt.Errorf("nft table %q: %w", m.table, ErrInvalidName)
	}
	if m.defaultSubnet.IsValid() {
		if err := validSubnet(m.defaultSubnet); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(stateDir, "networks"), 0o700); err != nil {
		return nil, fmt.Errorf("network state dir %s: %w", stateDir, err)
	}
	m.removeStrayTemps()
	return m, nil
}

// StateDir returns the state dir the Manager works on, as given to New.
func (m *Manager) StateDir() string { return m.dir }

// Table returns the name of the nftables table this Manager writes: the one asked
// for, or the one derived from its state dir when another state dir claimed that.
// It is settled by the Manager's first operation.
func (m *Manager) Table() string {
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	return m.table
}

// DefaultBridgeName returns the bridge device of DefaultNetwork, settled as Table is.
func (m *Manager) DefaultBridgeName() string {
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	return m.defaultBridge
}

// validName accepts network and nft table names: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}.
// It is matched by hand: that regexp, compiled at package init, cost about 860
// allocations at every start of the binary, container inits and monitors included.
var validName nameMatcher

// nameMatcher matches [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} without a regexp.
type nameMatcher struct{}

// MatchString reports whether s is a valid name.
func (nameMatcher) MatchString(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

func validIfName(s string) error {
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n") {
		return fmt.Errorf("interface %q: %w (1-15 bytes, no '/', ':' or space)", s, ErrInvalidName)
	}
	return nil
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateNetwork records a new network and brings its bridge up with the gateway address
// (ip link add NAME type bridge; ip addr add GW/LEN dev NAME; ip link set NAME up). It
// enables net.ipv4.ip_forward and the bridge's route_localnet. Errors: ErrNetworkExists,
// ErrInvalidName, ErrInvalidSubnet, ErrSubnetOverlap, ErrNoSubnet.
func (m *Manager) CreateNetwork(ctx context.Context, cfg NetworkConfig) (*Network, error) {
	if !validName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("network %q: %w", cfg.Name, ErrInvalidName)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	nf, err := m.createLocked(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n := nf.Network
	return &n, nil
}

func (m *Manager) createLocked(ctx context.Context, cfg NetworkConfig) (*netFile, error) {
	nets, err := m.loadAll()
	if err != nil {
		return nil, err
	}
	if _, ok := nets[cfg.Name]; ok {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, ErrNetworkExists)
	}
	id := randomID()
	bridge := cfg.Bridge
	if bridge == "" {
		if cfg.Name == DefaultNetwork {
			bridge = m.defaultBridge
		} else {
			bridge = "skiff-" + id[:8]
		}
	}
	if err := validIfName(bridge); err != nil {
		return nil, fmt.Errorf("create network %q: bridge: %w", cfg.Name, err)
	}
	// A host interface Skiff did not make is never taken over: RemoveNetwork would
	// later delete it (a VM bridge, say). Skiff's own names may be left over from a
	// lost state and are reused.
	if cfg.Bridge != "" && cfg.Bridge != m.defaultBridge {
		if _, err := netlink.LinkByName(bridge); err == nil {
			return nil, fmt.Errorf("create network %q: host interface %s exists and is not Skiff's: %w",
				cfg.Name, bridge, ErrNetworkExists)
		}
	}
	var used []usedPrefix
	for _, other := range nets {
		if other.Network.Bridge == bridge {
			return nil, fmt.Errorf("create network %q: bridge %s is used by network %q: %w",
				cfg.Name, bridge, other.Network.Name, ErrNetworkExists)
		}
		used = append(used, usedPrefix{other.Network.Subnet, fmt.Sprintf("network %q", other.Network.Name)})
	}
	// Other state dirs' networks, held until this one is recorded (subnetclaim.go).
	claims, err := m.lockSubnetClaims(ctx)
	if err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	state := m.stateAbs()
	defer func() {
		if err := claims.release(); err != nil {
			m.log.Warn("subnet claims not recorded", "network", cfg.Name, "err", err)
		}
	}()
	for _, other := range nets { // networks made before subnets were claimed
		claims.claim(state, &other.Network)
	}
	used = append(used, claims.others(state)...)
	routes, err := hostRoutes(bridge)
	if err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	used = append(used, routes...)

	subnet := cfg.Subnet
	if !subnet.IsValid() && cfg.Name == DefaultNetwork {
		subnet = m.defaultSubnet
	}
	if subnet.IsValid() {
		if err := validSubnet(subnet); err != nil {
			return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
		}
		if u, ok := overlaps(subnet, used); ok {
			return nil, fmt.Errorf("create network %q: %w: %s overlaps %s (%s)", cfg.Name, ErrSubnetOverlap, subnet, u.p, u.what)
		}
	} else if subnet, err = chooseSubnet(defaultPool(), used); err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	ipam, err := NewIPAM(subnet)
	if err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	if (cfg.Gateway.IsValid() || cfg.IPRange.IsValid() || len(cfg.AuxAddresses) > 0) && !cfg.Subnet.IsValid() {
		return nil, fmt.Errorf("create network %q: %w: a gateway, range or auxiliary address needs a subnet", cfg.Name, ErrInvalidAddress)
	}
	if cfg.Gateway.IsValid() {
		if err := ipam.SetGateway(cfg.Gateway); err != nil {
			return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
		}
	}
	if cfg.IPRange.IsValid() {
		if err := ipam.SetRange(cfg.IPRange); err != nil {
			return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
		}
	}
	if err := ipam.SetAux(cfg.AuxAddresses); err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	nf := &netFile{
		Network: Network{Name: cfg.Name, ID: id, Bridge: bridge, Subnet: subnet,
			Gateway: ipam.Gateway, Created: time.Now().UTC(), Labels: maps.Clone(cfg.Labels),
			Internal: cfg.Internal, IPRange: ipam.Range, AuxAddresses: maps.Clone(ipam.Aux)},
		IPAM:      ipam,
		Endpoints: map[string]*Endpoint{},
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.ensureBridge(&nf.Network); err != nil {
		return nil, fmt.Errorf("create network %q: %w", cfg.Name, err)
	}
	if err := m.save(nf); err != nil {
		deleteLink(bridge)
		return nil, err
	}
	claims.claim(state, &nf.Network)
	m.log.Info("network created", "network", cfg.Name, "bridge", bridge, "subnet", subnet)
	return nf, nil
}

// Network returns the network that ref names: its ID, its name or a unique prefix of
// its ID (as Docker resolves one); ErrNetworkNotFound if none does. Every method that
// takes a network accepts these three forms.
func (m *Manager) Network(ctx context.Context, ref string) (*Network, error) {
	nf, unlock, err := m.lockNetwork(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer unlock()
	n := nf.Network
	return &n, nil
}

// Networks returns every network, sorted by name.
func (m *Manager) Networks(ctx context.Context) ([]Network, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make([]Network, 0, len(nets))
	for _, name := range sortedNames(nets) {
		out = append(out, nets[name].Network)
	}
	return out, nil
}

// RemoveNetwork deletes the network's bridge (ip link del BRIDGE) and its record. It fails
// with ErrNetworkInUse, naming the containers, while endpoints remain. The default network
// may be removed too; Attach re-creates it on next use.
func (m *Manager) RemoveNetwork(ctx context.Context, name string) error {
	nf, unlock, err := m.lockNetwork(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return m.removeLocked(ctx, nf)
}

func (m *Manager) removeLocked(ctx context.Context, nf *netFile) error {
	if len(nf.Endpoints) > 0 {
		ids := make([]string, 0, len(nf.Endpoints))
		for id := range nf.Endpoints {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return fmt.Errorf("remove network %q: %w: %s", nf.Network.Name, ErrNetworkInUse, strings.Join(ids, ", "))
	}
	if err := deleteLink(nf.Network.Bridge); err != nil {
		return fmt.Errorf("remove network %q: %w", nf.Network.Name, err)
	}
	if err := m.remove(nf.Network.Name); err != nil {
		return err
	}
	if claims, err := m.lockSubnetClaims(ctx); err == nil {
		claims.drop(m.stateAbs(), nf.Network.ID)
		if err := claims.release(); err != nil {
			m.log.Warn("subnet claim not dropped; the next reader drops it", "network", nf.Network.Name, "err", err)
		}
	}
	m.log.Info("network removed", "network", nf.Network.Name, "bridge", nf.Network.Bridge)
	return m.applyRulesLocked(ctx)
}

// Prune removes every network without endpoints except DefaultNetwork (as docker network
// prune does) and returns the names removed.
func (m *Manager) Prune(ctx context.Context) ([]string, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var removed []string
	var errs []error
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		if name == DefaultNetwork || len(nf.Endpoints) > 0 {
			continue
		}
		if err := m.removeLocked(ctx, nf); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// Endpoints returns the endpoints of network sorted by address.
func (m *Manager) Endpoints(ctx context.Context, network string) ([]Endpoint, error) {
	nf, unlock, err := m.lockNetwork(ctx, network)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return sortedEndpoints(nf), nil
}

func sortedEndpoints(nf *netFile) []Endpoint {
	out := make([]Endpoint, 0, len(nf.Endpoints))
	for _, ep := range nf.Endpoints {
		e := *ep
		e.NetworkID = nf.Network.ID
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Addr().Less(out[j].Address.Addr()) })
	return out
}
