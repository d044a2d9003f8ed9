package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
)

// rowFormat is docker's --format for listings (ps, images): a Go template run on each
// row's fields ({{.Names}}, {{.ID}}, ...). "table TEMPLATE" prints a header first and
// aligns the columns, the header being the template run on the fields' column titles;
// "json" prints each row as one JSON object.
type rowFormat struct {
	tmpl  *template.Template
	table bool
	json  bool
	w     io.Writer
	tw    *tabwriter.Writer
}

// templateFuncs are docker's template functions.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// newRowFormat parses format for rows whose fields have the column titles headers,
// writing to w.
func newRowFormat(format string, headers map[string]string, w io.Writer) (*rowFormat, error) {
	f := &rowFormat{w: w}
	switch {
	case format == "json":
		f.json = true
		return f, nil
	case format == "table":
		return nil, fmt.Errorf("template parsing error: table needs a template (table {{.Field}}...)")
	case strings.HasPrefix(format, "table "):
		f.table, format = true, strings.TrimPrefix(format, "table ")
		f.tw = tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	}
	// Docker's \t in a --format argument is the two characters; it means a tab.
	format = strings.ReplaceAll(format, `\t`, "\t")
	t, err := template.New("format").Funcs(templateFuncs).Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	f.tmpl = t
	if f.table {
		var sb strings.Builder
		if err := t.Execute(&sb, headers); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(f.tw, sb.String())
	}
	return f, nil
}

// row prints one row.
func (f *rowFormat) row(fields map[string]any) error {
	if f.json {
		b, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(f.w, string(b))
		return err
	}
	var sb strings.Builder
	if err := f.tmpl.Execute(&sb, fields); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	out := f.w
	if f.tw != nil {
		out = f.tw
	}
	_, err := fmt.Fprintln(out, sb.String())
	return err
}

// flush ends the output (the aligned table).
func (f *rowFormat) flush() error {
	if f.tw != nil {
		return f.tw.Flush()
	}
	return nil
}
