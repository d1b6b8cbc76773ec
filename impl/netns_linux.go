package impl

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// How tcpcheck gets a network namespace of its own.
//
// A Go program cannot move itself into a new network namespace safely:
// unshare(CLONE_NEWNET) and setns act on the calling thread only, and the
// runtime runs goroutines (and creates sockets) on whatever thread it
// likes. So a command or test that needs a private namespace re-executes
// its own binary in a fresh one (ReexecInPrivateNetns: the child is
// created with CLONE_NEWNET, as `unshare -n` would do) and the child, which
// sees InPrivateNetns() == true, does the work: every thread of it is in
// the namespace, so kernel sockets, /proc/net/tcp and the TUN device all
// belong to it. The namespace disappears when the child exits.
//
// Joining a named namespace (made with `ip netns add NAME`, so that other
// programs can run beside us with `ip netns exec NAME ...`) needs no
// re-exec: only the TUN device must be created there, and its file
// descriptor keeps working from every thread. OpenTUN does that creation on
// a locked thread that has called setns and is then discarded.

// netnsEnv marks a process started by ReexecInPrivateNetns.
const netnsEnv = "TCPCHECK_PRIVATE_NETNS"

// InPrivateNetns reports whether this process was started by
// ReexecInPrivateNetns, in a network namespace of its own.
func InPrivateNetns() bool { return os.Getenv(netnsEnv) == "1" }

// ReexecInPrivateNetns runs this program's executable again with args in a
// new network namespace and waits for it; the child sees InPrivateNetns()
// report true. It returns the child's exit code. It needs CAP_SYS_ADMIN.
func ReexecInPrivateNetns(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if InPrivateNetns() {
		return 0, errorf("already in a private network namespace: refusing to nest")
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, errorf("finding this program to re-execute it in a network namespace: %v", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 0, errorf("the re-executed child was killed by %v", ws.Signal())
		}
		return ee.ExitCode(), nil
	case errors.Is(err, syscall.EPERM):
		return 0, errorf("creating a network namespace: %v (run as root: it needs CAP_SYS_ADMIN)", err)
	}
	return 0, errorf("re-executing in a network namespace: %v", err)
}

// TUNAvailable returns nil when this process can run a TUN link: it is
// root and /dev/net/tun exists. Otherwise the error says what is missing.
func TUNAvailable() error {
	if os.Geteuid() != 0 {
		return errorf("the TUN link needs root (a network namespace and /dev/net/tun); run as root, e.g. with sudo")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return errorf("the TUN link needs /dev/net/tun: %v (load the tun module: modprobe tun)", err)
	}
	return nil
}

// NetnsPath returns the file of the namespace named name, as made by
// `ip netns add NAME`. The name must be a plain file name.
func NetnsPath(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", errorf("network namespace name %q: want a plain name as given to 'ip netns add'", name)
	}
	p := filepath.Join("/run/netns", name)
	if _, err := os.Stat(p); err != nil {
		return "", errorf("network namespace %q: %v (create it with 'ip netns add %s')", name, err, name)
	}
	return p, nil
}

// inNetns runs fn on a locked OS thread that has joined the namespace at
// path ("" means the thread's current one). The thread is discarded
// afterwards, so no other goroutine ever runs in the namespace by accident.
func inNetns(path string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread may have changed namespace, so
		// the runtime must terminate it when this goroutine ends.
		if path != "" {
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				done <- errorf("opening network namespace %s: %v", path, err)
				return
			}
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
			if err != nil {
				done <- errorf("joining network namespace %s: %v", path, err)
				return
			}
		}
		done <- fn()
	}()
	return <-done
}

// checkNotInitialNetns refuses to go on in a namespace that may be the
// host's: the TUN link adds a device, an address and a route, and must
// never touch the host's interfaces. The namespace must not be PID 1's
// (when that can be read), and its only interfaces must be loopback and
// earlier tcpcheck devices, as in a namespace just made by CLONE_NEWNET or
// `ip netns add`. It must run on the thread that will create the device.
func checkNotInitialNetns() error {
	var self, init unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		return errorf("reading this thread's network namespace: %v", err)
	}
	if unix.Stat("/proc/1/ns/net", &init) == nil && self.Dev == init.Dev && self.Ino == init.Ino {
		return errorf("refusing to configure a TUN device in the initial network namespace; " +
			"run in a private one (ReexecInPrivateNetns) or join one made with 'ip netns add NAME'")
	}
	dev, err := os.ReadFile("/proc/thread-self/net/dev")
	if err != nil {
		return errorf("listing the namespace's interfaces: %v", err)
	}
	for _, line := range strings.Split(string(dev), "\n") {
		name, _, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" || strings.HasPrefix(name, "tcpcheck") {
			continue
		}
		return errorf("refusing to configure a TUN device in a network namespace that has interface %q "+
			"(it may be the host's); use a fresh namespace ('ip netns add NAME') or let tcpcheck make a private one", name)
	}
	return nil
}

// ThreadNetns is a network namespace of its own held by one locked OS
// thread, for code that needs many fresh namespaces in one process (a
// conformance case each) where re-executing per namespace would cost too
// much. Sockets, TUN devices and per-namespace sysctls must be created by
// functions run through Do, on that thread; their file descriptors then work
// from every thread. The namespace lives as long as the thread or anything
// created in it.
type ThreadNetns struct {
	calls chan func()
	done  chan struct{}
}

// NewThreadNetns starts a thread in a new network namespace
// (unshare(CLONE_NEWNET), like `unshare -n` for one thread). It needs
// CAP_SYS_ADMIN.
func NewThreadNetns() (*ThreadNetns, error) {
	n := &ThreadNetns{calls: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread changed namespace, so the
		// runtime must terminate it when this goroutine ends.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- errorf("creating a network namespace: %v (run as root: it needs CAP_SYS_ADMIN)", err)
			return
		}
		errc <- nil
		for {
			select {
			case fn := <-n.calls:
				fn()
			case <-n.done:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return n, nil
}

// Do runs fn on the namespace's thread and returns its error.
func (n *ThreadNetns) Do(fn func() error) error {
	errc := make(chan error, 1)
	select {
	case n.calls <- func() { errc <- fn() }:
	case <-n.done:
		return errorf("the network namespace's thread has ended")
	}
	return <-errc
}

// Close ends the thread. The namespace goes when the last socket or device
// made in it is closed.
func (n *ThreadNetns) Close() {
	select {
	case <-n.done:
	default:
		close(n.done)
	}
}
