package io.moeflux.cli.fuzz;

import io.moeflux.cli.client.ForwardClientExample;
import io.moeflux.serving.auth.BearerMetadata;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.util.ByteBufPayload;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The serve target: authenticated clients send random and mutated route payloads to a live {@code
 * serve}: {@code moe.forward} requests of both wire versions (mutated bodies on an open channel),
 * {@code moe.status}, {@code moe.placement} and {@code moe.heat} requests with mutated data,
 * unknown routes, mutated metadata. {@code --huge-mib} then sends that many MiB as {@code
 * moe.forward} requests of 256 MiB, far over what a request may be.
 */
final class ServeFuzz {
  private static final int WORKERS = 8;
  private static final int HUGE_REQUEST = 256 * 1024 * 1024;
  private static final Duration ANSWER = Duration.ofSeconds(30);
  private static final List<String> ROUTES =
      List.of("moe.forward", "moe.status", "moe.placement", "moe.heat", "moe.nothing", "");

  private final String host;
  private final int port;
  private final String token;
  private final int hidden;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong hugeSent = new AtomicLong();
  private final AtomicLong hugeBytes = new AtomicLong();

  ServeFuzz(String host, int port, String token, int hidden) {
    this.host = host;
    this.port = port;
    this.token = token;
    this.hidden = hidden;
  }

  /** An authenticated client of the target (a bearer token in its SETUP). */
  static RSocket client(String host, int port, String token) {
    CompositeByteBuf setup =
        BearerMetadata.addTo(
            ByteBufAllocator.DEFAULT.compositeBuffer(), ByteBufAllocator.DEFAULT, token);
    return RSocketConnector.create()
        .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
        .setupPayload(ByteBufPayload.create(ByteBufAllocator.DEFAULT.buffer(0), setup))
        .fragment(1024 * 1024)
        .connect(TcpClientTransport.create(host, port))
        .block(ANSWER);
  }

  /** Sends inputs over {@code connections} connections until {@code inputs} were processed. */
  void attack(long inputs, int connections, long seed) throws Exception {
    List<byte[]> seeds = seeds();
    long perConnection = Math.max(1, inputs / connections);
    ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < connections; c++) {
        long first = c * perConnection;
        long count = c == connections - 1 ? inputs - first : perConnection;
        if (count <= 0) {
          break;
        }
        long connectionSeed = seed * 31 + c;
        done.add(workers.submit(() -> connection(seeds, count, connectionSeed)));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      workers.shutdown();
      workers.awaitTermination(1, TimeUnit.MINUTES);
    }
  }

  /** Sends inputs until {@code count} of them were answered or refused by the target. */
  private Void connection(List<byte[]> seeds, long count, long seed) {
    Mutator mutator = new Mutator(seeds, seed);
    SplittableRandom random = new SplittableRandom(seed);
    RSocket client = client(host, port, token);
    try {
      long done = 0;
      // inputs the target took silently (an empty first body only opens the route) do not count
      for (long attempts = 0; done < count && attempts < 4 * count; attempts++) {
        if (client.isDisposed()) {
          client = client(host, port, token);
        }
        if (random.nextInt(4) == 0) {
          done += request(client, random, mutator.next()) ? 1 : 0;
        } else {
          int batch = (int) Math.min(count - done, 1 + random.nextInt(40));
          done += channel(client, mutator, batch);
        }
      }
    } finally {
      client.dispose();
    }
    return null;
  }

  /**
   * One request-response or request-stream to a random route, data and metadata mutated; whether
   * the target answered or refused it.
   */
  private boolean request(RSocket client, SplittableRandom random, byte[] data) {
    String route = ROUTES.get(random.nextInt(ROUTES.size()));
    Payload payload = ForwardClientExample.routed(route, Unpooled.wrappedBuffer(data));
    if (random.nextInt(8) == 0) {
      payload = mutatedMetadata(payload, random);
    }
    sent.incrementAndGet();
    Mono<?> answer =
        route.equals("moe.heat")
            ? client.requestStream(payload).take(1).doOnNext(this::answered).then()
            : client.requestResponse(payload).doOnNext(this::answered);
    AtomicLong answers = new AtomicLong();
    return !settle(
            answer
                .doOnNext(any -> answers.incrementAndGet())
                .timeout(Duration.ofSeconds(2), Mono.empty()))
        || answers.get() > 0;
  }

  /**
   * One moe.forward channel carrying up to {@code count} mutated bodies; returns how many the
   * target answered or refused (a channel that a version-1 request ends answers no more).
   */
  private int channel(RSocket client, Mutator mutator, int count) {
    AtomicLong answers = new AtomicLong();
    Flux<Payload> requests =
        Flux.range(0, count)
            .map(
                i -> {
                  sent.incrementAndGet();
                  ByteBuf body = Unpooled.wrappedBuffer(mutator.next());
                  return i == 0
                      ? ForwardClientExample.routed("moe.forward", body)
                      : ByteBufPayload.create(body);
                });
    boolean ended =
        !settle(
            client
                .requestChannel(requests)
                .doOnNext(
                    payload -> {
                      answers.incrementAndGet();
                      answer(payload);
                    })
                .then());
    return (int) (answers.get() + (ended ? 1 : 0));
  }

  private void answered(Payload payload) {
    answered.incrementAndGet();
    payload.release();
  }

  private void answer(Payload payload) {
    try {
      ByteBuf data = payload.sliceData();
      if (data.readableBytes() >= 8
          && ForwardWireCodec.version(data) == ForwardWireCodec.VERSION_2
          && data.getIntLE(data.readerIndex() + 4) != ForwardWireCodec.STATUS_OK) {
        refused.incrementAndGet();
      } else {
        answered.incrementAndGet();
      }
    } finally {
      payload.release();
    }
  }

  /** Waits for {@code interaction}; false when it ended with an error (counted as refused). */
  private boolean settle(Mono<?> interaction) {
    try {
      interaction.block(ANSWER);
      return true;
    } catch (RuntimeException refusedOutright) {
      // an error for that request (or channel): what a bad input should get
      refused.incrementAndGet();
      return false;
    }
  }

  private static Payload mutatedMetadata(Payload payload, SplittableRandom random) {
    byte[] metadata = ByteBufUtil.getBytes(payload.metadata());
    byte[] data = ByteBufUtil.getBytes(payload.data());
    payload.release();
    if (metadata.length > 0) {
      metadata[random.nextInt(metadata.length)] = (byte) random.nextInt();
    }
    return ByteBufPayload.create(Unpooled.wrappedBuffer(data), Unpooled.wrappedBuffer(metadata));
  }

  /** Sends {@code mib} MiB as moe.forward requests of 256 MiB, one at a time. */
  void huge(long mib) {
    byte[] zeros = new byte[(int) Math.min(HUGE_REQUEST, mib * 1024 * 1024)];
    // a header claiming the tokens the bytes would hold
    int tokens = (zeros.length - ForwardWireCodec.LAYER_REQUEST_HEADER_BYTES) / (hidden * 4);
    ByteBuf header = Unpooled.wrappedBuffer(zeros, 0, ForwardWireCodec.LAYER_REQUEST_HEADER_BYTES);
    header.writerIndex(0);
    header.writeIntLE(ForwardWireCodec.VERSION_2).writeIntLE(-1).writeIntLE(-1);
    header.writeIntLE(tokens).writeIntLE(hidden);
    long requests = Math.max(1, mib * 1024 * 1024 / zeros.length);
    RSocket client = client(host, port, token);
    try {
      for (long i = 0; i < requests; i++) {
        if (client.isDisposed()) {
          client = client(host, port, token);
        }
        hugeSent.incrementAndGet();
        hugeBytes.addAndGet(zeros.length);
        Payload request = ForwardClientExample.routed("moe.forward", Unpooled.wrappedBuffer(zeros));
        settle(
            client
                .requestChannel(Flux.just(request))
                .doOnNext(this::answer)
                .then()
                .timeout(Duration.ofMinutes(2)));
      }
    } finally {
      client.dispose();
    }
  }

  /** Valid request bodies of both versions, and the bodies of the other routes. */
  private List<byte[]> seeds() {
    List<byte[]> seeds = new ArrayList<>();
    ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    for (int tokens = 0; tokens <= 3; tokens++) {
      float[] data = new float[tokens * hidden];
      for (int i = 0; i < data.length; i++) {
        data[i] = (i % 7) / 7f;
      }
      seeds.add(Mutator.bytes(ForwardWireCodec.encodeRequest(alloc, -1, tokens, hidden, data)));
      seeds.add(
          Mutator.bytes(
              ForwardWireCodec.encodeLayerRequest(alloc, tokens % 2, -1, tokens, hidden, data)));
    }
    seeds.add(new byte[0]);
    seeds.add("{}".getBytes(StandardCharsets.UTF_8));
    return seeds;
  }

  long sent() {
    return sent.get();
  }

  /** Inputs the target answered or refused. */
  long processed() {
    return answered.get() + refused.get();
  }

  long answered() {
    return answered.get();
  }

  long refused() {
    return refused.get();
  }

  long hugeSent() {
    return hugeSent.get();
  }

  /** Bytes of the huge requests offered; the target refuses each once it passes its cap. */
  long hugeBytes() {
    return hugeBytes.get();
  }
}
