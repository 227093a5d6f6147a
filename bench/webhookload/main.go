// webhookload: a closed-loop HTTPS load generator for bench_webhook.py, playing the
// kube-apiserver (a Go client, keep-alive HTTP/1.1 connections): -c workers first open their
// connection with one unmeasured request each (the apiserver keeps its connections), then
// POST the body of -body to -url back to back until -n requests are done; it prints one JSON
// object with the sorted latencies in milliseconds. Standard library only.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "webhook URL")
	bodyFile := flag.String("body", "", "file with the AdmissionReview to POST")
	caFile := flag.String("ca", "", "CA certificate (PEM) of the server")
	concurrency := flag.Int("c", 100, "requests in flight")
	total := flag.Int("n", 1000, "requests in all")
	flag.Parse()

	body, err := os.ReadFile(*bodyFile)
	check(err)
	caPEM, err := os.ReadFile(*caFile)
	check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		check(fmt.Errorf("no certificate in %s", *caFile))
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        *concurrency,
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var next int64 = -1
	var failures int64
	post := func() {
		resp, err := client.Post(*url, "application/json", bytes.NewReader(body))
		if err != nil {
			atomic.AddInt64(&failures, 1)
			return
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
			atomic.AddInt64(&failures, 1)
		}
	}
	latencies := make([]float64, *total)
	var warm, wg sync.WaitGroup
	startGate := make(chan struct{})
	for w := 0; w < *concurrency; w++ {
		warm.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			post() // open this worker's connection
			warm.Done()
			<-startGate
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(*total) {
					return
				}
				t0 := time.Now()
				post()
				latencies[i] = float64(time.Since(t0).Microseconds()) / 1000
			}
		}()
	}
	warm.Wait()
	start := time.Now()
	close(startGate)
	wg.Wait()
	wall := time.Since(start).Seconds()
	sort.Float64s(latencies)
	check(json.NewEncoder(os.Stdout).Encode(map[string]any{
		"latencies_ms": latencies, "wall_s": wall, "failures": failures,
	}))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
