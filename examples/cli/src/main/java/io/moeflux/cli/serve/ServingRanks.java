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
  private final int[] clientPorts;

  /**
   * Starts {@code world} ranks, each {@code serve --rank r --world W --peers ... --port P} plus
   * {@code options}, and waits until each says it is serving.
   */
  public ServingRanks(Path dir, int world, List<String> jvmOptions, List<String> options)
      throws InterruptedException {
    // free loopback ports: the first W for the mesh, the next W for clients
    TcpMeshTransport ports = TcpMeshTransport.loopback(2 * world);
    List<String> peers = ports.addresses().subList(0, world);
    this.clientPorts = new int[world];
    for (int r = 0; r < world; r++) {
      clientPorts[r] = ports.port(world + r);
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
