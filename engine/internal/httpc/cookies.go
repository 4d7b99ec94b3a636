package httpc

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"
)

// Jar is one worker's cookie jar, emptied at the start of every iteration:
// Set-Cookie from a response is sent with the later requests of the same
// iteration to the same host (or the cookie's Domain and its subdomains).
// Paths are not matched: a journey talks to one application. The jar's
// buffers are reused, so a journey that sets the same cookies every
// iteration does not allocate for them.
type Jar struct {
	cs  []jarCookie
	n   int
	tmp fasthttp.Cookie
}

type jarCookie struct {
	domain      []byte // host, or Domain attribute (without leading dot)
	sub         bool   // Domain attribute given: subdomains match too
	name, value []byte
}

// Reset empties the jar.
func (j *Jar) Reset() { j.n = 0 }

// Store takes the Set-Cookie headers of resp, received from host.
func (j *Jar) Store(host []byte, resp *fasthttp.Response) {
	for _, v := range resp.Header.Cookies() {
		if deletes(v) {
			// fasthttp's parser rejects a negative Max-Age: remove by name
			if i := bytes.IndexByte(v, '='); i > 0 {
				j.remove(bytes.TrimSpace(v[:i]))
			}
			continue
		}
		if err := j.tmp.ParseBytes(v); err != nil {
			continue
		}
		domain, sub := host, false
		if d := bytes.TrimPrefix(j.tmp.Domain(), []byte(".")); len(d) > 0 {
			domain, sub = d, true
		}
		expired := !j.tmp.Expire().Equal(fasthttp.CookieExpireUnlimited) && j.tmp.Expire().Before(time.Now())
		j.set(domain, sub, j.tmp.Key(), j.tmp.Value(), expired)
	}
}

func (j *Jar) set(domain []byte, sub bool, name, value []byte, expired bool) {
	for i := 0; i < j.n; i++ {
		c := &j.cs[i]
		if bytes.Equal(c.name, name) && bytes.Equal(c.domain, domain) {
			if expired {
				j.n--
				j.cs[i], j.cs[j.n] = j.cs[j.n], j.cs[i]
				return
			}
			c.value = append(c.value[:0], value...)
			c.sub = sub
			return
		}
	}
	if expired {
		return
	}
	if j.n == len(j.cs) {
		j.cs = append(j.cs, jarCookie{})
	}
	c := &j.cs[j.n]
	j.n++
	c.domain = append(c.domain[:0], domain...)
	c.name = append(c.name[:0], name...)
	c.value = append(c.value[:0], value...)
	c.sub = sub
}

// Apply adds the cookies for host to req and reports whether it added any.
func (j *Jar) Apply(host []byte, req *fasthttp.Request) bool {
	if j.n == 0 {
		return false
	}
	host = stripPort(host)
	added := false
	for i := 0; i < j.n; i++ {
		c := &j.cs[i]
		if domainMatch(stripPort(c.domain), host, c.sub) {
			req.Header.SetCookieBytesKV(c.name, c.value)
			added = true
		}
	}
	return added
}

func domainMatch(domain, host []byte, sub bool) bool {
	if bytes.EqualFold(domain, host) {
		return true
	}
	return sub && len(host) > len(domain) && host[len(host)-len(domain)-1] == '.' &&
		bytes.EqualFold(host[len(host)-len(domain):], domain)
}

// stripPort drops :port from host (cookies do not depend on ports).
func stripPort(host []byte) []byte {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		return host[:i]
	}
	return host
}

// deletes reports a Set-Cookie value with Max-Age zero or negative, which
// removes the cookie (fasthttp's parser reads neither).
func deletes(v []byte) bool {
	for i := 0; i+8 < len(v); i++ {
		if (v[i] == 'm' || v[i] == 'M') && bytes.EqualFold(v[i:i+8], []byte("max-age=")) {
			c := v[i+8]
			return c == '-' || c == '0' && (i+9 == len(v) || v[i+9] == ';' || v[i+9] == ' ')
		}
	}
	return false
}

// remove drops every cookie called name.
func (j *Jar) remove(name []byte) {
	for i := 0; i < j.n; {
		if bytes.Equal(j.cs[i].name, name) {
			j.n--
			j.cs[i], j.cs[j.n] = j.cs[j.n], j.cs[i]
			continue
		}
		i++
	}
}
