package io.moeflux.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The reference every throughput figure is divided by: a plain loopback echo through one socket
 * pair. The client writes 64 KiB chunks, the server echoes them, a reader thread drains the echo;
 * the figure counts one direction (bytes echoed back per second).
 */
public final class RawTcpEcho {
  private static final int CHUNK = 64 * 1024;

  private RawTcpEcho() {}

  /** Bytes per second echoed back, measured for {@code duration} after a short warm-up. */
  public static double bytesPerSecond(Duration duration) throws IOException, InterruptedException {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket peer = server.accept()) {
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicLong received = new AtomicLong();
      Thread echo = daemon("echo", () -> pump(peer, peer, running, null));
      Thread writer =
          daemon(
              "writer",
              () -> {
                byte[] chunk = new byte[CHUNK];
                try {
                  OutputStream out = client.getOutputStream();
                  while (running.get()) {
                    out.write(chunk);
                  }
                } catch (IOException closed) {
                  // the socket closes when the measurement ends
                }
              });
      Thread reader = daemon("reader", () -> pump(client, null, running, received));
      echo.start();
      reader.start();
      writer.start();
      Thread.sleep(300);
      long startBytes = received.get();
      long start = System.nanoTime();
      Thread.sleep(duration.toMillis());
      long bytes = received.get() - startBytes;
      double seconds = (System.nanoTime() - start) / 1e9;
      running.set(false);
      client.close();
      peer.close();
      writer.join(1000);
      return bytes / seconds;
    }
  }

  private static void pump(Socket from, Socket to, AtomicBoolean running, AtomicLong counter) {
    byte[] buffer = new byte[CHUNK];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to == null ? null : to.getOutputStream();
      while (running.get()) {
        int n = in.read(buffer);
        if (n < 0) {
          return;
        }
        if (out != null) {
          out.write(buffer, 0, n);
        }
        if (counter != null) {
          counter.addAndGet(n);
        }
      }
    } catch (IOException closed) {
      // the socket closes when the measurement ends
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, "raw-tcp-" + name);
    thread.setDaemon(true);
    return thread;
  }
}
