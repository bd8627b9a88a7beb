package httpapi

import (
	"bytes"
	"context"
	_ "embed"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// GetHealthz answers while the process serves HTTP; it touches nothing else.
func (s *Server) GetHealthz(context.Context, oapi.GetHealthzRequestObject) (oapi.GetHealthzResponseObject, error) {
	return oapi.GetHealthz200JSONResponse{Status: "ok", Version: tideline.Version}, nil
}

// GetReadyz answers 200 when the store answers a ping in time, 503 otherwise.
func (s *Server) GetReadyz(ctx context.Context, _ oapi.GetReadyzRequestObject) (oapi.GetReadyzResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		return nil, tideline.Wrap(err, tideline.CodeUnavailable, "The storage engine ("+s.cfg.Info.Engine+") does not answer.")
	}
	return oapi.GetReadyz200JSONResponse{
		Status:        "ready",
		Engine:        oapi.ReadinessEngine(s.cfg.Info.Engine),
		SchemaVersion: s.cfg.Info.SchemaVersion,
	}, nil
}

// GetMetrics is served by promhttp (see routes); the strict layer never calls it.
func (s *Server) GetMetrics(context.Context, oapi.GetMetricsRequestObject) (oapi.GetMetricsResponseObject, error) {
	return nil, tideline.Errorf(tideline.CodeInternal, "metrics are served by promhttp")
}

// GetOpenAPI serves the OpenAPI document the server was built from.
func (s *Server) GetOpenAPI(context.Context, oapi.GetOpenAPIRequestObject) (oapi.GetOpenAPIResponseObject, error) {
	return oapi.GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(tideline.OpenAPI), ContentLength: int64(len(tideline.OpenAPI))}, nil
}

//go:embed favicon.ico
var favicon []byte

// faviconCacheControl lets browsers keep the icon a day.
const faviconCacheControl = "public, max-age=86400"

// GetFavicon serves the icon browsers ask for at /favicon.ico.
func (s *Server) GetFavicon(context.Context, oapi.GetFaviconRequestObject) (oapi.GetFaviconResponseObject, error) {
	cc := faviconCacheControl
	return oapi.GetFavicon200ImagexIconResponse{Body: bytes.NewReader(favicon), ContentLength: int64(len(favicon)),
		Headers: oapi.GetFavicon200ResponseHeaders{CacheControl: &cc}}, nil
}
