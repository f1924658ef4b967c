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
 * A loopback TCP proxy that delays every byte by a fixed one-way latency, standing in for a link
 * between hosts (this kernel has no netem). Each accepted connection gets a connection to the
 * target; each direction is a reader thread stamping chunks and a writer thread releasing them when
 * their time has come, so throughput is not limited by the delay.
 */
public final class LinkDelayProxy implements AutoCloseable {
  private static final int CHUNK = 64 * 1024;

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final long delayNanos;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean open = true;

  private record Chunk(byte[] bytes, int length, long due) {}

  public LinkDelayProxy(InetSocketAddress target, long delayMicros) throws IOException {
    this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    this.target = target;
    this.delayNanos = TimeUnit.MICROSECONDS.toNanos(delayMicros);
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
        Socket outbound = new Socket(target.getAddress(), target.getPort());
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
                while (true) {
                  Chunk chunk = queue.take();
                  long wait;
                  while ((wait = chunk.due() - System.nanoTime()) > 0) {
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
    sockets.forEach(LinkDelayProxy::closeQuietly);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception ignored) {
      // closing on the way out
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, "link-delay-" + name);
    thread.setDaemon(true);
    return thread;
  }
}
