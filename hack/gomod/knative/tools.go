//go:build tools

// Package tools pins the Knative Serving commands this module builds (see hack/build-knative.sh).
package tools

import (
	_ "knative.dev/serving/cmd/autoscaler"
	_ "knative.dev/serving/cmd/controller"
	_ "knative.dev/serving/cmd/webhook"
)
