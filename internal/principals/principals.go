// Package principals reads the auth file: who may call tagway, with which
// credentials on each surface, and on which accounts. See docs/auth.md.
package principals

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tagway/tagway/internal/filewatch"
	"github.com/tagway/tagway/internal/operation"
)

// Principal is one caller of tagway, as the auth file names it.
type Principal struct {
	// Name shows in logs and metrics; it is unique in the file.
	Name string `yaml:"name"`
	// Admin principals act on every account and organization.
	Admin  bool    `yaml:"admin"`
	AWS    *AWS    `yaml:"aws"`
	Huawei *Huawei `yaml:"huawei"`
	GRPC   *GRPC   `yaml:"grpc"`
	// RateLimits, by operation (package operation), are the calls per
	// second the principal may make, in place of --rate-limits' figure; 0
	// lifts the limit.
	RateLimits map[string]int `yaml:"rate_limits"`
}

// AWS holds a principal's AWS account and SigV4 access keys.
type AWS struct {
	// Account is the 12-digit account whose resources the principal sees.
	Account    string   `yaml:"account"`
	AccessKeys []AWSKey `yaml:"access_keys"`
}

// AWSKey is one SigV4 access key.
type AWSKey struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
	// SessionToken, when set, must be sent as X-Amz-Security-Token.
	SessionToken string `yaml:"session_token"`
	// ExpiresAt, when set (with a session token), ends the key's validity.
	ExpiresAt time.Time `yaml:"expires_at"`
}

// Huawei holds a principal's Huawei Cloud account and AK/SK pairs.
type Huawei struct {
	// DomainID is the account whose organization the principal manages.
	DomainID   string      `yaml:"domain_id"`
	AccessKeys []HuaweiKey `yaml:"access_keys"`
}

// HuaweiKey is one AK/SK pair.
type HuaweiKey struct {
	AK string `yaml:"ak"`
	SK string `yaml:"sk"`
	// SecurityToken, when set, must be sent as X-Security-Token.
	SecurityToken string `yaml:"security_token"`
}

// GRPC holds the credentials a principal presents on the gRPC port.
type GRPC struct {
	// Tokens are sent as the metadata "authorization: Bearer <token>".
	Tokens []string `yaml:"tokens"`
	// Identities are URI SANs of client certificates, such as SPIFFE IDs.
	Identities []string `yaml:"identities"`
}

type file struct {
	Principals []*Principal `yaml:"principals"`
}

// Set is the principals of one version of the auth file, indexed by
// credential. It is immutable.
type Set struct {
	principals []*Principal
	aws        map[string]awsEntry
	huawei     map[string]huaweiEntry
	tokens     map[[sha256.Size]byte]tokenEntry
	identities map[string]*Principal
}

type awsEntry struct {
	p   *Principal
	key AWSKey
}

type huaweiEntry struct {
	p   *Principal
	key HuaweiKey
}

type tokenEntry struct {
	p     *Principal
	token []byte
}

// Principals returns the principals in the order of the file.
func (s *Set) Principals() []*Principal { return s.principals }

// AWSKey returns the principal holding the AWS access key id.
func (s *Set) AWSKey(id string) (*Principal, AWSKey, bool) {
	e, ok := s.aws[id]
	return e.p, e.key, ok
}

// HuaweiKey returns the principal holding the Huawei access key.
func (s *Set) HuaweiKey(ak string) (*Principal, HuaweiKey, bool) {
	e, ok := s.huawei[ak]
	return e.p, e.key, ok
}

// Token returns the principal holding a gRPC bearer token. Tokens are found
// by their SHA-256 and then compared in constant time, so the time taken
// says nothing about how much of a guess was right.
func (s *Set) Token(token string) (*Principal, bool) {
	e, ok := s.tokens[sha256.Sum256([]byte(token))]
	if !ok || subtle.ConstantTimeCompare(e.token, []byte(token)) != 1 {
		return nil, false
	}
	return e.p, true
}

// Identity returns the principal of a client certificate's URI SAN.
func (s *Set) Identity(uri string) (*Principal, bool) {
	p, ok := s.identities[uri]
	return p, ok
}

// MaxRateLimit is the highest rate limit the file may give, in calls per
// second.
const MaxRateLimit = 1_000_000

var (
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	accountPattern  = regexp.MustCompile(`^[0-9]{12}$`)
	awsKeyPattern   = regexp.MustCompile(`^[A-Za-z0-9_]{16,128}$`)
	domainPattern   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	huaweiAKPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
	// quoted matches the values yaml quotes in its errors, which could be
	// secrets written in the wrong place.
	quoted = regexp.MustCompile("`[^`]*`")
	line   = regexp.MustCompile(`^line (\d+): `)
)

// Parse reads an auth file's content; name (its path) starts every error,
// which is one line, "<name>:<line>: <problem>", and never holds a secret.
func Parse(name string, data []byte) (*Set, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; it must list principals", name)
		}
		return nil, yamlError(name, err)
	}
	c := checker{name: name, root: &root}
	return c.build(f.Principals)
}

// yamlError turns a yaml error into one line without the values it quotes.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, quoted.ReplaceAllString(l, "(value hidden)"))
		}
	}
	first := strings.Join(parts, "; ")
	if m := line.FindStringSubmatch(first); m != nil {
		return fmt.Errorf("%s:%s: %s", name, m[1], strings.TrimPrefix(first, m[0]))
	}
	return fmt.Errorf("%s: %s", name, first)
}

// Load reads and parses the auth file at path.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// checker validates the decoded file and names lines in its errors.
type checker struct {
	name string
	root *yaml.Node
}

// at returns the line of the node at path, a list of mapping keys and
// sequence indexes from the top of the file, or of its nearest ancestor.
func (c checker) at(path ...any) int {
	n := c.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	found := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n, found = next, next.Line
	}
	return found
}

func (c checker) errorf(path []any, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.name, c.at(path...), fmt.Sprintf(format, args...))
}

func (c checker) build(ps []*Principal) (*Set, error) {
	if len(ps) == 0 {
		return nil, c.errorf(nil, "the file lists no principals")
	}
	s := &Set{
		principals: ps,
		aws:        map[string]awsEntry{},
		huawei:     map[string]huaweiEntry{},
		tokens:     map[[sha256.Size]byte]tokenEntry{},
		identities: map[string]*Principal{},
	}
	names := map[string]int{}
	for i, p := range ps {
		here := func(more ...any) []any { return append([]any{"principals", i}, more...) }
		if p == nil {
			return nil, c.errorf(here(), "principal %d is empty", i)
		}
		if !namePattern.MatchString(p.Name) {
			return nil, c.errorf(here("name"), "principal %d: name %q must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", i, p.Name)
		}
		if j, dup := names[p.Name]; dup {
			return nil, c.errorf(here("name"), "principal %q is named twice (also principal %d)", p.Name, j)
		}
		names[p.Name] = i
		if p.AWS == nil && p.Huawei == nil && p.GRPC == nil {
			return nil, c.errorf(here(), "principal %q has no credentials: give it aws, huawei or grpc", p.Name)
		}
		if err := c.checkAWS(s, p, here); err != nil {
			return nil, err
		}
		if err := c.checkHuawei(s, p, here); err != nil {
			return nil, err
		}
		if err := c.checkGRPC(s, p, here); err != nil {
			return nil, err
		}
		for _, op := range slices.Sorted(maps.Keys(p.RateLimits)) {
			switch n := p.RateLimits[op]; {
			case !operation.Known(op):
				return nil, c.errorf(here("rate_limits"), "principal %q: rate_limits names %q, which is not one of %s", p.Name, op, strings.Join(operation.All, ", "))
			case n < 0 || n > MaxRateLimit:
				return nil, c.errorf(here("rate_limits", op), "principal %q: rate_limits.%s is %d; give calls per second, 1 to %d, or 0 for no limit", p.Name, op, n, MaxRateLimit)
			}
		}
	}
	return s, nil
}

func (c checker) checkAWS(s *Set, p *Principal, here func(...any) []any) error {
	a := p.AWS
	if a == nil {
		return nil
	}
	if !accountPattern.MatchString(a.Account) {
		return c.errorf(here("aws", "account"), "principal %q: aws.account %q is not 12 digits", p.Name, a.Account)
	}
	if len(a.AccessKeys) == 0 {
		return c.errorf(here("aws"), "principal %q: aws has no access_keys", p.Name)
	}
	for j, k := range a.AccessKeys {
		at := here("aws", "access_keys", j)
		switch {
		case !awsKeyPattern.MatchString(k.ID):
			return c.errorf(append(at, "id"), "principal %q: aws.access_keys[%d].id must be 16 to 128 letters, digits or '_'", p.Name, j)
		case k.Secret == "":
			return c.errorf(at, "principal %q: aws.access_keys[%d] (%s) has no secret", p.Name, j, k.ID)
		case !k.ExpiresAt.IsZero() && k.SessionToken == "":
			return c.errorf(append(at, "expires_at"), "principal %q: aws.access_keys[%d] (%s) has expires_at without a session_token", p.Name, j, k.ID)
		}
		if e, dup := s.aws[k.ID]; dup {
			return c.errorf(append(at, "id"), "principal %q: AWS access key %s is listed twice (also under principal %q)", p.Name, k.ID, e.p.Name)
		}
		s.aws[k.ID] = awsEntry{p: p, key: k}
	}
	return nil
}

func (c checker) checkHuawei(s *Set, p *Principal, here func(...any) []any) error {
	h := p.Huawei
	if h == nil {
		return nil
	}
	if !domainPattern.MatchString(h.DomainID) {
		return c.errorf(here("huawei", "domain_id"), "principal %q: huawei.domain_id %q is not 32 lower-case hexadecimal digits", p.Name, h.DomainID)
	}
	if len(h.AccessKeys) == 0 {
		return c.errorf(here("huawei"), "principal %q: huawei has no access_keys", p.Name)
	}
	for j, k := range h.AccessKeys {
		at := here("huawei", "access_keys", j)
		switch {
		case !huaweiAKPattern.MatchString(k.AK):
			return c.errorf(append(at, "ak"), "principal %q: huawei.access_keys[%d].ak must be 1 to 128 letters or digits", p.Name, j)
		case k.SK == "":
			return c.errorf(at, "principal %q: huawei.access_keys[%d] (%s) has no sk", p.Name, j, k.AK)
		}
		if e, dup := s.huawei[k.AK]; dup {
			return c.errorf(append(at, "ak"), "principal %q: Huawei access key %s is listed twice (also under principal %q)", p.Name, k.AK, e.p.Name)
		}
		s.huawei[k.AK] = huaweiEntry{p: p, key: k}
	}
	return nil
}

func (c checker) checkGRPC(s *Set, p *Principal, here func(...any) []any) error {
	g := p.GRPC
	if g == nil {
		return nil
	}
	if len(g.Tokens) == 0 && len(g.Identities) == 0 {
		return c.errorf(here("grpc"), "principal %q: grpc has neither tokens nor identities", p.Name)
	}
	for j, t := range g.Tokens {
		at := here("grpc", "tokens", j)
		if t == "" || strings.TrimSpace(t) != t || strings.ContainsAny(t, " \t\r\n") {
			return c.errorf(at, "principal %q: grpc.tokens[%d] is empty or holds white space", p.Name, j)
		}
		sum := sha256.Sum256([]byte(t))
		if e, dup := s.tokens[sum]; dup {
			return c.errorf(at, "principal %q: grpc.tokens[%d] is also a token of principal %q", p.Name, j, e.p.Name)
		}
		s.tokens[sum] = tokenEntry{p: p, token: []byte(t)}
	}
	for j, id := range g.Identities {
		at := here("grpc", "identities", j)
		u, err := url.Parse(id)
		if err != nil || u.Scheme == "" || u.Host == "" && u.Opaque == "" {
			return c.errorf(at, "principal %q: grpc.identities[%d] %q is not a URI such as spiffe://example.org/ns/a/sa/b", p.Name, j, id)
		}
		if q, dup := s.identities[id]; dup {
			return c.errorf(at, "principal %q: identity %s is listed twice (also under principal %q)", p.Name, id, q.Name)
		}
		s.identities[id] = p
	}
	return nil
}

// Source is the auth file and the version of it in force.
type Source = filewatch.Source[Set]

// Open loads the auth file at path.
func Open(path string) (*Source, error) { return filewatch.Open(path, Load) }
