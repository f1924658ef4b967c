package io.moeflux.cli.serve;

import io.moeflux.cli.fuzz.TargetProcess;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * W {@code moeflux serve --rank r} processes on loopback, one group: each with a mesh port and a
 * client port of its own, started at once (each waits for its peers).
 */
public final class ServingRanks implements AutoCloseable {
  private final List<TargetProcess> processes = new ArrayList<>();
  private final List<String> peers;
  private final int[] clientPorts;

  /**
   * Starts {@code world} ranks on free loopback ports, each {@code serve --rank r --world W --peers
   * ... --port P} plus {@code options}, and waits until each says it is serving.
   */
  public ServingRanks(Path dir, int world, List<String> jvmOptions, List<String> options)
      throws InterruptedException {
    this(dir, freePorts(world), jvmOptions, options);
  }

  /**
   * Starts the group again on the ports of {@code before} (which must be closed): what a restart of
   * every pod of a StatefulSet does.
   */
  public ServingRanks(Path dir, ServingRanks before, List<String> jvmOptions, List<String> options)
      throws InterruptedException {
    this(dir, before.ports(), jvmOptions, options);
  }

  private ServingRanks(Path dir, List<Integer> ports, List<String> jvmOptions, List<String> options)
      throws InterruptedException {
    int world = ports.size() / 2;
    this.peers = new ArrayList<>();
    this.clientPorts = new int[world];
    for (int r = 0; r < world; r++) {
      peers.add("127.0.0.1:" + ports.get(r));
      clientPorts[r] = ports.get(world + r);
    }
    try {
      for (int r = 0; r < world; r++) {
        Path rankDir = Files.createDirectories(dir.resolve("rank-" + r));
        List<String> args = new ArrayList<>();
        args.addAll(
            List.of(
                "serve",
                "--rank",
                Integer.toString(r),
                "--world",
                Integer.toString(world),
                "--peers",
                String.join(",", peers),
                "--port",
                Integer.toString(clientPorts[r])));
        args.addAll(options);
        processes.add(TargetProcess.start(rankDir, jvmOptions, args));
      }
      for (TargetProcess process : processes) {
        process.awaitLine("serving rank", Duration.ofMinutes(2));
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
  }

  /** Free loopback ports: the first W for the mesh, the next W for clients. */
  private static List<Integer> freePorts(int world) {
    TcpMeshTransport free = TcpMeshTransport.loopback(2 * world);
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 2 * world; i++) {
      ports.add(free.port(i));
    }
    return ports;
  }

  /** The mesh ports, then the client ports, in rank order. */
  private List<Integer> ports() {
    List<Integer> ports = new ArrayList<>();
    for (String peer : peers) {
      ports.add(Integer.parseInt(peer.substring(peer.lastIndexOf(':') + 1)));
    }
    for (int port : clientPorts) {
      ports.add(port);
    }
    return ports;
  }

  public int clientPort(int rank) {
    return clientPorts[rank];
  }

  public TargetProcess process(int rank) {
    return processes.get(rank);
  }

  public int world() {
    return clientPorts.length;
  }

  /** Stops every process (SIGTERM: each drains and leaves), forcing those that do not stop. */
  @Override
  public void close() throws InterruptedException {
    // all at once: each rank's leaving waits for its peers to leave too
    processes.forEach(TargetProcess::terminate);
    for (TargetProcess process : processes) {
      process.close();
    }
  }
}
