package tideline

import (
	"context"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// ProtocolVersion is the sync protocol version this SDK speaks (docs/sync-protocol.md).
const ProtocolVersion = 1

// modulePath is the module the SDK is part of: its version is the SDK's.
const modulePath = "github.com/tideline-dev/tideline"

// versionForm is what the server accepts as a version in the Tideline-Client header.
var versionForm = regexp.MustCompile(`^[A-Za-z0-9._+~-]{1,32}$`)

// sdkVersion is the SDK's version as the program was built with it: the module's version
// when it is a dependency (or the main module, built at a version), "devel" otherwise.
var sdkVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := ""
	if info.Main.Path == modulePath {
		v = info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == modulePath {
			v = d.Version
		}
	}
	if !versionForm.MatchString(v) {
		return "devel"
	}
	return v
})

// clientHeader is the Tideline-Client header the SDK sends with every push, pull and
// stream (docs/sdk-core.md, "Identify the client"): the server records it for the admin
// console's sync health, and never serves a request differently for it.
func (c *Client) clientHeader() string {
	return "sdk=go/" + sdkVersion() + "; protocol=" + strconv.Itoa(ProtocolVersion) + "; client=" + c.id
}

// identify is a request editor that sets the Tideline-Client header.
func (c *Client) identify() api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Tideline-Client", c.clientHeader())
		return nil
	}
}
