package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.cli.client.ForwardClientExample;
import io.moeflux.cli.soak.ForwardChecker;
import io.moeflux.cli.soak.ProcessGauges;
import io.moeflux.eplb.rebalance.RebalanceEvent;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.serving.BalancedGroup;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.StatusFields;
import io.moeflux.serving.auth.BearerMetadata;
import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.serving.rsocket.MoeRoutes;
import io.moeflux.transport.SetupFrameGuard;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.core.RSocketServer;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import io.rsocket.util.ByteBufPayload;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A long run as a server lives it: ranks over TCP with skewed routing, heat and rebalancing on
 * (migrations included), and an authenticated client sending {@code moe.forward} at a steady rate,
 * every answer checked bitwise against the reference under the placement it names. Every minute it
 * reports the heap after GC, direct memory, threads and file descriptors of the process.
 *
 * <p>Netty's buffers are unpooled in a soak (unless Netty was set up before the command ran): a
 * pool keeps the chunks it once needed, in steps of 8 MiB, so its reserved memory says little about
 * what is live; unpooled, direct memory is exactly the buffers not yet released, and a leak would
 * show as growth.
 */
@Command(name = "soak", mixinStandardHelpOptions = true)
final class SoakCommand extends GroupCommand {
  @Option(names = "--minutes")
  int minutes = 10;

  @Option(names = "--rate")
  int rate = 100;

  @Option(names = "--interval")
  int interval = 50;

  @Override
  public Integer call() throws Exception {
    if (minutes < 2 || rate < 1) {
      throw new IllegalArgumentException("--minutes must be >= 2 and --rate >= 1");
    }
    System.setProperty("io.netty.allocator.type", "unpooled");
    PrintWriter out = out();
    PipelineConfig config = group.pipelineSwitchingEvery(interval);
    ModelConfig model = group.model();
    int ranks = group.ranks;
    BalancedGroup balanced =
        BalancedGroup.start(ranks, group.transport, config, new SimpleMeterRegistry())
            .block(Duration.ofMinutes(1));
    ForwardChecker checker =
        new ForwardChecker(model, balanced.group().bank(), config.initialPlacement(ranks));
    Disposable placements =
        balanced
            .balancer(0)
            .events()
            .filter(event -> event.kind() == RebalanceEvent.Kind.SWITCHED)
            .subscribe(event -> checker.placement(event.placement()));
    RequestBatcher batcher = RequestBatcher.start(balanced.group()).block();
    String token = HexFormat.of().formatHex(SecureRandom.getSeed(16));
    MoeRoutes routes =
        new MoeRoutes(
            batcher,
            () -> balanced.heat(0).snapshots().map(StatusFields::heat),
            () -> StatusFields.group(batcher, balanced),
            BearerTokens.of(List.of(token)));
    CloseableChannel server =
        RSocketServer.create(routes)
            .interceptors(interceptors -> interceptors.forConnection(new SetupFrameGuard()))
            .maxInboundPayloadSize(MoeRoutes.maxInboundPayloadSize(batcher))
            .bind(TcpServerTransport.create("127.0.0.1", 0))
            .block();
    RSocket client =
        RSocketConnector.create()
            .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
            .setupPayload(
                ByteBufPayload.create(
                    ByteBufAllocator.DEFAULT.buffer(0),
                    BearerMetadata.addTo(
                        ByteBufAllocator.DEFAULT.compositeBuffer(),
                        ByteBufAllocator.DEFAULT,
                        token)))
            .connect(TcpClientTransport.create(server.address()))
            .block(Duration.ofSeconds(30));
    out.printf(
        "moeflux soak: %d ranks over %s, %d experts (+%d replicas), gate skew %.1f, switch every %d"
            + " steps; a client sends %d moe.forward requests/s for %d minutes; buffers from %s%n",
        ranks,
        group.transport,
        model.experts(),
        config.redundantSlots(),
        model.gateSkew(),
        interval,
        rate,
        minutes,
        ByteBufAllocator.DEFAULT.getClass().getSimpleName());
    out.flush();

    Sinks.Many<ForwardChecker.Sent> sends = Sinks.many().unicast().onBackpressureBuffer();
    ConcurrentLinkedQueue<ForwardChecker.Sent> inFlight = new ConcurrentLinkedQueue<>();
    AtomicLong sent = new AtomicLong();
    AtomicLong received = new AtomicLong();
    AtomicReference<Throwable> channelError = new AtomicReference<>();
    Disposable answers =
        client
            .requestChannel(sends.asFlux().map(this::payload))
            .subscribe(
                payload -> {
                  ForwardWireCodec.LayerResponse answer;
                  try {
                    answer = ForwardWireCodec.decodeLayerResponse(payload.sliceData());
                  } finally {
                    payload.release();
                  }
                  ForwardChecker.Sent request = inFlight.poll();
                  if (request != null) {
                    checker.answered(request, answer);
                  }
                  received.incrementAndGet();
                },
                channelError::set);
    Scheduler sender = Schedulers.newSingle("moeflux-soak-client");
    SplittableRandom random = new SplittableRandom(group.model.seed);
    int capacity = config.maxTokensPerRank();
    Disposable sending =
        sender.schedulePeriodically(
            () -> {
              long sequence = sent.getAndIncrement();
              int tokens = 1 + random.nextInt(Math.max(1, capacity / 2));
              float[] data = new float[tokens * model.hidden()];
              for (int i = 0; i < data.length; i++) {
                data[i] = (float) (random.nextDouble() * 2 - 1);
              }
              ForwardChecker.Sent request =
                  new ForwardChecker.Sent(sequence, (int) (sequence % ranks), tokens, data);
              inFlight.add(request);
              sends.tryEmitNext(request);
            },
            0,
            1_000_000_000L / rate,
            TimeUnit.NANOSECONDS);

    // answers are checked as they come, so that only a few steps' worth is ever held
    Disposable checking =
        sender.schedulePeriodically(() -> checker.check(8), 1, 1, TimeUnit.SECONDS);
    long started = System.nanoTime();
    ProcessGauges first = null;
    ProcessGauges second = null;
    ProcessGauges last = null;
    try {
      for (int minute = 1; minute <= minutes; minute++) {
        long until = started + TimeUnit.MINUTES.toNanos(minute);
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
        ProcessGauges now = ProcessGauges.read();
        if (first == null) {
          first = now;
        }
        if (minute == 2) {
          second = now;
        }
        last = now;
        out.printf(
            "[minute %2d] %d requests, %d answered, %d checked, %d mismatches, %d rebalances;"
                + " heap %.1f MB after GC, direct %.1f MB, %d threads, %d fds%n",
            minute,
            sent.get(),
            received.get(),
            checker.checked(),
            checker.mismatches(),
            balanced.balancer(0).switches(),
            now.heapMb(),
            now.directMb(),
            now.threads(),
            now.fds());
        out.flush();
      }
    } finally {
      sending.dispose();
      checking.dispose();
      sender.dispose();
      // what was sent is answered, or lost
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (received.get() < sent.get() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      checker.check(-1);
      sends.tryEmitComplete();
      answers.dispose();
      client.dispose();
      server.dispose();
      batcher.dispose();
      placements.dispose();
      balanced.dispose();
    }
    long lost = sent.get() - received.get();
    long rebalances = balanced.balancer(0).switches();
    boolean heapSteady = within(last.heapMb(), second.heapMb(), 0.10);
    boolean directSteady = within(last.directMb(), second.directMb(), 0.10);
    boolean threadsSteady = last.threads() <= first.threads() + 2;
    boolean fdsSteady = last.fds() <= first.fds() + 2;
    boolean passed =
        checker.mismatches() == 0
            && lost == 0
            && channelError.get() == null
            && heapSteady
            && directSteady
            && threadsSteady
            && fdsSteady;
    if (channelError.get() != null) {
      out.println("the client's channel failed: " + channelError.get());
    }
    out.println(
        new JsonLine()
            .put("minutes", minutes)
            .put("requests", sent.get())
            .put("rebalances", rebalances)
            .put("mismatches", checker.mismatches())
            .put("lost", lost)
            .put("heap_mb_minute2", second.heapMb())
            .put("heap_mb_last", last.heapMb())
            .put("direct_mb_minute2", second.directMb())
            .put("direct_mb_last", last.directMb())
            .put("threads_first", first.threads())
            .put("threads_last", last.threads())
            .put("fds_first", first.fds())
            .put("fds_last", last.fds())
            .put("checked", checker.checked())
            .put("passed", passed));
    out.flush();
    return passed ? 0 : 1;
  }

  /** A version-2 request; the first of the channel carries the route. */
  private Payload payload(ForwardChecker.Sent request) {
    ByteBuf body =
        ForwardWireCodec.encodeLayerRequest(
            ByteBufAllocator.DEFAULT,
            request.rank(),
            TokenBatch.ANY_LAYER,
            request.tokens(),
            request.data().length / request.tokens(),
            request.data());
    return request.sequence() == 0
        ? ForwardClientExample.routed("moe.forward", body)
        : ByteBufPayload.create(body);
  }

  /** Whether {@code value} is within {@code fraction} of {@code reference} (or both near zero). */
  private static boolean within(double value, double reference, double fraction) {
    return Math.abs(value - reference) <= fraction * Math.max(Math.abs(reference), 1.0);
  }
}
