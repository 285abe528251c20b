// Command httpsink is the plain-HTTP baseline for scripts/bench-storage.sh:
// a PUT's body is written to a file under -dir and fsynced before the
// answer (then deleted), as a provider stores an upload; a GET is answered
// with one file.
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
	dir := flag.String("dir", os.TempDir(), "where PUT bodies are written and fsynced")
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
			n, err := store(*dir, r.Body)
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

// store writes body to a new file in dir, fsyncs it and deletes it.
func store(dir string, body io.Reader) (int64, error) {
	f, err := os.CreateTemp(dir, "httpsink-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, body)
	if err != nil {
		return n, err
	}
	return n, f.Sync()
}
