package io.moeflux.cli.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The reference for small collectives: a 24-byte loopback TCP ping-pong between two threads, round
 * trip per iteration.
 */
public final class RawTcpPingPong {
  private static final int MESSAGE = 24;

  private RawTcpPingPong() {}

  /** Round-trip times in nanoseconds, warm-up excluded. */
  public static long[] roundTrips(int iterations, int warmup)
      throws IOException, InterruptedException {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket peer = server.accept()) {
      client.setTcpNoDelay(true);
      peer.setTcpNoDelay(true);
      Thread echo =
          new Thread(
              () -> {
                byte[] buffer = new byte[MESSAGE];
                try {
                  DataInputStream in = new DataInputStream(peer.getInputStream());
                  OutputStream out = peer.getOutputStream();
                  for (int i = 0; i < warmup + iterations; i++) {
                    in.readFully(buffer);
                    out.write(buffer);
                  }
                } catch (IOException closed) {
                  // the measurement ended
                }
              },
              "raw-tcp-pong");
      echo.setDaemon(true);
      echo.start();
      byte[] message = new byte[MESSAGE];
      DataInputStream in = new DataInputStream(client.getInputStream());
      OutputStream out = client.getOutputStream();
      long[] times = new long[iterations];
      for (int i = 0; i < warmup + iterations; i++) {
        long start = System.nanoTime();
        out.write(message);
        in.readFully(message);
        if (i >= warmup) {
          times[i - warmup] = System.nanoTime() - start;
        }
      }
      echo.join(1000);
      return times;
    }
  }
}
