package io.moeflux.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A loopback TCP proxy standing in for a link between hosts (this kernel has no netem): every byte
 * is delayed by a fixed one-way latency and, with a rate, leaves no sooner than the link could have
 * carried it (each connection, each direction, is a link of that rate). Each accepted connection
 * gets a connection to the target; each direction is a reader thread stamping chunks and a writer
 * thread releasing them when their time has come, so throughput is not limited by the delay.
 */
public final class LinkProxy implements AutoCloseable {
  private static final int CHUNK = 64 * 1024;
  private static final long CONNECT_PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final long delayNanos;
  private final double nanosPerByte;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean open = true;

  private record Chunk(byte[] bytes, int length, long due) {}

  /**
   * A proxy to {@code target} adding {@code delayMicros} one way, at {@code bytesPerSecond} per
   * connection and direction (0: as fast as loopback carries it).
   */
  public LinkProxy(InetSocketAddress target, long delayMicros, long bytesPerSecond)
      throws IOException {
    if (delayMicros < 0 || bytesPerSecond < 0) {
      throw new IllegalArgumentException(
          "link delay and rate must be >= 0, got " + delayMicros + " and " + bytesPerSecond);
    }
    this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    this.target = target;
    this.delayNanos = TimeUnit.MICROSECONDS.toNanos(delayMicros);
    this.nanosPerByte = bytesPerSecond == 0 ? 0 : 1e9 / bytesPerSecond;
    daemon("accept", this::acceptLoop).start();
  }

  /** The {@code host:port} peers should connect to instead of the target. */
  public String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  private void acceptLoop() {
    while (open) {
      try {
        Socket inbound = server.accept();
        Socket outbound;
        try {
          outbound = connectToTarget();
        } catch (IOException unreachable) {
          closeQuietly(inbound);
          throw unreachable;
        }
        inbound.setTcpNoDelay(true);
        outbound.setTcpNoDelay(true);
        sockets.add(inbound);
        sockets.add(outbound);
        relay(inbound, outbound);
        relay(outbound, inbound);
      } catch (IOException e) {
        if (open) {
          continue;
        }
        return;
      }
    }
  }

  /**
   * The target may not listen yet (every rank of a group starts at once, and a peer dials as soon
   * as it is up): keep trying for a while, as the peer's own dialing would.
   */
  private Socket connectToTarget() throws IOException {
    long deadline = System.nanoTime() + CONNECT_PATIENCE_NANOS;
    while (true) {
      try {
        return new Socket(target.getAddress(), target.getPort());
      } catch (IOException refused) {
        if (!open || System.nanoTime() > deadline) {
          throw refused;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
    }
  }

  private void relay(Socket from, Socket to) {
    BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    daemon(
            "read",
            () -> {
              try {
                InputStream in = from.getInputStream();
                while (true) {
                  byte[] bytes = new byte[CHUNK];
                  int n = in.read(bytes);
                  if (n < 0) {
                    queue.put(new Chunk(bytes, -1, System.nanoTime() + delayNanos));
                    return;
                  }
                  queue.put(new Chunk(bytes, n, System.nanoTime() + delayNanos));
                }
              } catch (IOException | InterruptedException e) {
                queue.offer(new Chunk(new byte[0], -1, System.nanoTime()));
              }
            })
        .start();
    daemon(
            "write",
            () -> {
              try {
                OutputStream out = to.getOutputStream();
                long linkFree = 0;
                while (true) {
                  Chunk chunk = queue.take();
                  long due = chunk.due();
                  if (nanosPerByte > 0 && chunk.length() > 0) {
                    // the chunk is out once the link has carried it, after what went before it
                    due = Math.max(due, linkFree) + (long) (chunk.length() * nanosPerByte);
                    linkFree = due;
                  }
                  long wait;
                  while ((wait = due - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  if (chunk.length() < 0) {
                    to.shutdownOutput();
                    return;
                  }
                  out.write(chunk.bytes(), 0, chunk.length());
                }
              } catch (IOException | InterruptedException e) {
                closeQuietly(to);
              }
            })
        .start();
  }

  @Override
  public void close() {
    open = false;
    closeQuietly(server);
    sockets.forEach(LinkProxy::closeQuietly);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception ignored) {
      // closing on the way out
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, "link-proxy-" + name);
    thread.setDaemon(true);
    return thread;
  }
}
