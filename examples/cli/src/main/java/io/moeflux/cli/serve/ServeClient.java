package io.moeflux.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.client.ForwardClientExample;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.util.ByteBufPayload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A client of one serving rank: {@code moe.forward} requests (version 2) on one channel at a fixed
 * rate, each answer matched to its request (answers come in order per channel), latencies and
 * tokens counted; refusals counted, with the first one's text and time kept.
 */
public final class ServeClient implements Disposable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Sent(long nanos, int tokens) {}

  private final int rank;
  private final RSocket socket;
  private final int hidden;
  private final int maxTokens;
  private final int[] layers;
  private final SplittableRandom random;
  private final ConcurrentLinkedQueue<Sent> inFlight = new ConcurrentLinkedQueue<>();
  private final Scheduler thread;
  private Sinks.@Nullable Many<Payload> sends;
  private @Nullable Disposable sending;
  private @Nullable Disposable answers;

  // guarded by this
  private long[] latencies = new long[1024];
  private int answered;
  private long sent;
  private boolean routed;
  private long tokens;
  private long refused;
  private @Nullable String firstRefusal;
  private long firstRefusalNanos;
  private long firstRequestNanos;
  private long lastAnswerNanos;

  /** A client of the synthetic model, which runs every layer in every step. */
  public ServeClient(int rank, int port, int maxTokens, long seed) {
    this(rank, port, maxTokens, seed, new int[] {TokenBatch.ANY_LAYER});
  }

  /**
   * A client whose requests name the decoder layers {@code layers} in turn (a checkpoint model's
   * MoE layers; {@link TokenBatch#ANY_LAYER} for the synthetic model).
   */
  public ServeClient(int rank, int port, int maxTokens, long seed, int[] layers) {
    this.rank = rank;
    this.layers = layers.clone();
    this.maxTokens = maxTokens;
    this.random = new SplittableRandom(seed);
    this.socket =
        RSocketConnector.create()
            .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
            .connect(TcpClientTransport.create("127.0.0.1", port))
            .block(Duration.ofSeconds(30));
    this.hidden = status().get("hidden").asInt();
    this.thread = Schedulers.newSingle("moeflux-client-" + rank);
  }

  /** The rank's {@code moe.status}. */
  public JsonNode status() {
    String text =
        socket
            .requestResponse(ForwardClientExample.routed("moe.status", new byte[0]))
            .map(
                payload -> {
                  try {
                    return payload.getDataUtf8();
                  } finally {
                    payload.release();
                  }
                })
            .block(Duration.ofSeconds(10));
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Starts sending {@code rate} requests per second, on a new channel, counting from zero (the
   * refusal kept is the first on this channel).
   */
  public synchronized void start(int rate) {
    Sinks.Many<Payload> channel = Sinks.many().unicast().onBackpressureBuffer();
    sends = channel;
    routed = false;
    reset();
    answers =
        socket
            .requestChannel(channel.asFlux())
            .subscribe(this::answer, error -> channelFailed("the channel failed: " + error));
    sending =
        thread.schedulePeriodically(this::send, 0, 1_000_000_000L / rate, TimeUnit.NANOSECONDS);
  }

  /** Stops sending; what was sent is still answered. */
  public synchronized void stop() {
    if (sending != null) {
      sending.dispose();
    }
  }

  private void send() {
    int layer;
    synchronized (this) {
      layer = layers[(int) (sent % layers.length)];
    }
    int n = 1 + random.nextInt(maxTokens);
    float[] data = new float[n * hidden];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) (random.nextDouble() * 2 - 1);
    }
    ByteBuf body =
        ForwardWireCodec.encodeLayerRequest(ByteBufAllocator.DEFAULT, rank, layer, n, hidden, data);
    Sinks.@Nullable Many<Payload> channel;
    boolean first;
    synchronized (this) {
      channel = sends;
      sent++;
      first = !routed;
      routed = true;
      if (firstRequestNanos == 0) {
        firstRequestNanos = System.nanoTime();
      }
    }
    inFlight.add(new Sent(System.nanoTime(), n));
    Payload payload =
        first ? ForwardClientExample.routed("moe.forward", body) : ByteBufPayload.create(body);
    if (channel == null || channel.tryEmitNext(payload).isFailure()) {
      payload.release();
    }
  }

  private void answer(Payload payload) {
    ForwardWireCodec.LayerResponse response;
    try {
      response = ForwardWireCodec.decodeLayerResponse(payload.sliceData());
    } finally {
      payload.release();
    }
    Sent request = inFlight.poll();
    long now = System.nanoTime();
    if (!response.ok()) {
      refused(response.message(), 1);
      return;
    }
    synchronized (this) {
      if (answered == latencies.length) {
        latencies = Arrays.copyOf(latencies, answered * 2);
      }
      latencies[answered++] = request == null ? 0 : now - request.nanos();
      tokens += response.tokens();
      lastAnswerNanos = now;
    }
  }

  /** Every request still in flight is lost with the channel; nothing more is sent on it. */
  private synchronized void channelFailed(String message) {
    stop();
    sends = null;
    int lost = inFlight.size();
    inFlight.clear();
    refused(message, lost);
  }

  private synchronized void refused(String message, int requests) {
    refused += requests;
    if (firstRefusal == null) {
      firstRefusal = message;
      firstRefusalNanos = System.nanoTime();
    }
  }

  /**
   * Forgets what was counted so far (requests still in flight are answered and counted as usual):
   * what is measured from now on is the steady state, not the JIT warming up.
   */
  public synchronized void reset() {
    long inFlightNow = sent - answered - refused;
    sent = inFlightNow;
    answered = 0;
    refused = 0;
    tokens = 0;
    firstRefusal = null;
    firstRequestNanos = System.nanoTime();
    lastAnswerNanos = 0;
  }

  public synchronized long sent() {
    return sent;
  }

  public synchronized long answered() {
    return answered;
  }

  public synchronized long refused() {
    return refused;
  }

  /** Requests neither answered nor refused yet. */
  public synchronized long outstanding() {
    return sent - answered - refused;
  }

  public synchronized @Nullable String firstRefusal() {
    return firstRefusal;
  }

  /** When the first refusal came, {@link System#nanoTime()}; 0 before. */
  public synchronized long firstRefusalNanos() {
    return firstRefusal == null ? 0 : firstRefusalNanos;
  }

  public synchronized Percentiles latencies() {
    return new Percentiles(latencies, answered);
  }

  /** Tokens answered per second, from the first request to the last answer. */
  public synchronized double tokensPerSecond() {
    double seconds = (lastAnswerNanos - firstRequestNanos) / 1e9;
    return seconds <= 0 ? 0 : tokens / seconds;
  }

  @Override
  public synchronized void dispose() {
    stop();
    if (sends != null) {
      sends.tryEmitComplete();
    }
    if (answers != null) {
      answers.dispose();
    }
    thread.dispose();
    socket.dispose();
  }

  @Override
  public boolean isDisposed() {
    return socket.isDisposed();
  }
}
