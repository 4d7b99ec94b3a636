package demotarget_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/loadgate/loadgate/internal/demotarget"
)

// Example starts the demo target on a free loopback port, asks it for its health,
// and stops it.
func Example() {
	srv := demotarget.New(demotarget.Options{Seed: 1})
	ln, err := demotarget.Listen("127.0.0.1:0", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		stop()
		fmt.Println("serve:", <-done, "requests:", srv.Requests())
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/health")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output:
	// 200 {"status":"ok"}
	// serve: <nil> requests: 1
}
