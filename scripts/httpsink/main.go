// Command httpsink is the plain-HTTP baseline for scripts/bench-storage.sh:
// a PUT's body is read and discarded, a GET is answered with one file.
// It listens on a free loopback port and prints the address it took.
//
//	go run ./scripts/httpsink -file big.bin
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	file := flag.String("file", "", "the file every GET is answered with")
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	flag.Parse()
	if *file == "" {
		log.Fatal("httpsink: -file is required: the file GET requests download")
	}
	if _, err := os.Stat(*file); err != nil {
		log.Fatalf("httpsink: %v", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("httpsink: listening on %s: %v", *addr, err)
	}
	// The caller waits for this line to know the port.
	fmt.Println(ln.Addr().String())

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut, http.MethodPost:
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d bytes received\n", n)
		case http.MethodGet, http.MethodHead:
			http.ServeFile(w, r, *file)
		default:
			http.Error(w, "PUT or GET only", http.StatusMethodNotAllowed)
		}
	})
	go func() {
		if err := http.Serve(ln, h); err != nil {
			log.Fatalf("httpsink: %v", err)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
