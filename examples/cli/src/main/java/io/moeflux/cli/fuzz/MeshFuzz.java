package io.moeflux.cli.fuzz;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The mesh target: TCP connections to a live rank's mesh server from someone without the group's
 * secret. Each connection writes a SETUP (valid, or mutated) and then mutated RSocket frames (the
 * handshake requests, lanes, mesh frames, random bytes), and reads what the rank answers until it
 * closes the connection. {@code --huge-mib} then sends that many MiB as 8 MiB SETUP payloads.
 */
final class MeshFuzz {
  private static final int HUGE_FRAME = 8 * 1024 * 1024;
  private static final int WORKERS = 8;

  private final String host;
  private final int port;
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong hugeWritten = new AtomicLong();
  private final AtomicLong closedByRank = new AtomicLong();
  private final AtomicLong answeredBytes = new AtomicLong();

  MeshFuzz(String host, int port) {
    this.host = host;
    this.port = port;
  }

  /**
   * Writes {@code inputs} frames over at most {@code connections} connections. Inputs a connection
   * could not write (the rank closed it first) go to the next connections.
   */
  void attack(long inputs, int connections, long seed) throws Exception {
    List<byte[]> seeds = new ArrayList<>();
    for (int rank = -1; rank < 4; rank++) {
      seeds.add(RSocketFrames.setup(rank));
    }
    seeds.addAll(RSocketFrames.afterSetup());
    AtomicLong remaining = new AtomicLong(inputs);
    AtomicLong connectionsLeft = new AtomicLong(connections);
    ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < connections; c++) {
        long connectionSeed = seed * 31 + c;
        done.add(
            workers.submit(
                () -> {
                  long left = connectionsLeft.getAndDecrement();
                  long quota = (remaining.get() + left - 1) / Math.max(1, left);
                  return connection(seeds, quota, remaining, connectionSeed);
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      workers.shutdown();
      workers.awaitTermination(1, TimeUnit.MINUTES);
    }
  }

  /** Sends {@code mib} MiB as 8 MiB SETUP payloads, two connections at a time. */
  void huge(long mib) throws Exception {
    long frames = Math.max(1, mib * 1024 * 1024 / HUGE_FRAME);
    ExecutorService workers = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (long i = 0; i < frames; i++) {
        done.add(
            workers.submit(
                () -> {
                  ByteBuf frame = RSocketFrames.hugeSetup(HUGE_FRAME - 64);
                  try (Socket socket = open()) {
                    byte[] bytes = new byte[frame.readableBytes()];
                    frame.getBytes(frame.readerIndex(), bytes);
                    OutputStream out = socket.getOutputStream();
                    out.write(RSocketFrames.prefixed(bytes));
                    out.flush();
                    hugeWritten.incrementAndGet();
                    drain(socket);
                  } catch (IOException e) {
                    closedByRank.incrementAndGet();
                  } finally {
                    frame.release();
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      workers.shutdown();
      workers.awaitTermination(1, TimeUnit.MINUTES);
    }
  }

  private Void connection(List<byte[]> seeds, long quota, AtomicLong remaining, long seed) {
    if (quota <= 0 || remaining.getAndDecrement() <= 0) {
      return null;
    }
    Mutator mutator = new Mutator(seeds, seed);
    SplittableRandom random = new SplittableRandom(seed);
    try (Socket socket = open()) {
      OutputStream out = socket.getOutputStream();
      // the first frame is a SETUP, valid or mutated; then anything
      byte[] first = random.nextInt(3) == 0 ? seeds.get(random.nextInt(5)) : mutator.next();
      out.write(RSocketFrames.prefixed(first));
      written.incrementAndGet();
      for (long i = 1; i < quota && remaining.getAndDecrement() > 0; i++) {
        byte[] frame = mutator.next();
        // mostly well-framed, sometimes a length that lies
        try {
          out.write(random.nextInt(8) == 0 ? frame : RSocketFrames.prefixed(frame));
        } catch (IOException closed) {
          remaining.incrementAndGet();
          throw closed;
        }
        written.incrementAndGet();
      }
      out.flush();
      drain(socket);
    } catch (IOException e) {
      // the rank closed the connection while we wrote: it refused us
      closedByRank.incrementAndGet();
    }
    return null;
  }

  private Socket open() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(host, port), 5000);
    socket.setSoTimeout(3000);
    return socket;
  }

  /** Reads whatever the rank answers until it closes the connection or stays silent. */
  private void drain(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[4096];
    try {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        answeredBytes.addAndGet(n);
      }
      closedByRank.incrementAndGet();
    } catch (SocketTimeoutException silent) {
      // the rank kept the connection open without answering: our close ends it
    }
  }

  long written() {
    return written.get();
  }

  long hugeWritten() {
    return hugeWritten.get();
  }

  long closedByRank() {
    return closedByRank.get();
  }

  long answeredBytes() {
    return answeredBytes.get();
  }
}
