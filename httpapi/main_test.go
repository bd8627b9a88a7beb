package httpapi

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
)

// TestMain makes gin's process-wide settings what New makes them, before any test runs, so
// that New, called by tests in parallel, only reads them.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	binding.EnableDecoderUseNumber = true
	os.Exit(m.Run())
}
