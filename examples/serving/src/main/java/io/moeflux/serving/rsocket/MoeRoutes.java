package io.moeflux.serving.rsocket;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.auth.BearerMetadata;
import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.transport.RateLimitedLog;
import io.moeflux.transport.protocol.ForwardDeadlineCodec;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.rsocket.ConnectionSetupPayload;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.SocketAcceptor;
import io.rsocket.exceptions.RejectedException;
import io.rsocket.exceptions.RejectedSetupException;
import io.rsocket.frame.FrameLengthCodec;
import io.rsocket.metadata.CompositeMetadata;
import io.rsocket.metadata.RoutingMetadata;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.util.ByteBufPayload;
import io.rsocket.util.DefaultPayload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * The RSocket routes an external client drives a running group with. Routing uses the standard
 * {@code message/x.rsocket.routing.v0} metadata, inside composite metadata (what Spring's {@code
 * RSocketRequester.route(...)} sends) or on its own:
 *
 * <ul>
 *   <li>{@code moe.forward} request-channel: token batches in, outputs out, in order ({@link
 *       ForwardWireCodec}). A request may carry a deadline ({@link ForwardDeadlineCodec}, in its
 *       composite metadata): one no step answered in time is refused (version 2: in band). Version
 *       2 names the layer and refuses a request in band (the channel goes on); version 1 is
 *       answered for the synthetic model and refused, as an error, for a checkpoint model, which
 *       needs the layer. A request of 0 tokens is answered with 0 tokens and {@code topK} 0;
 *   <li>{@code moe.heat} request-stream: heat as JSON, whatever the {@code heat} supplier gives
 *       (the CLI's server gives {@link io.moeflux.serving.StatusFields#heatUpdates}: this rank's
 *       partial counts for the open window at once, then every aggregated window);
 *   <li>{@code moe.placement} request-response: the placement maps, each slot's share of its
 *       expert's tokens, the version and the digest the switch gate compares, JSON;
 *   <li>{@code moe.status} request-response: the group's state, JSON.
 * </ul>
 *
 * An unknown route or a malformed payload gets an error frame with a clear message; the connection
 * and the server stay up.
 */
public final class MoeRoutes implements SocketAcceptor {
  public static final List<String> ROUTES =
      List.of("moe.forward", "moe.heat", "moe.placement", "moe.status");
  private static final String ROUTING = WellKnownMimeType.MESSAGE_RSOCKET_ROUTING.getString();
  private static final String COMPOSITE =
      WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int METADATA_ROOM = 64 * 1024;

  /**
   * Reactor's context key for a subscription's own dropped-error handler. A channel that ends with
   * a request's error (version 1 has no in-band refusal) is then cancelled by RSocket, whose
   * cancellation arrives after the end: it is expected, and must not be logged as a stack trace for
   * every bad request.
   */
  private static final String ON_ERROR_DROPPED = "reactor.onErrorDropped.local";

  /** And its key for dropped values: an answer made after its channel ended is released. */
  private static final String ON_NEXT_DROPPED = "reactor.onNextDropped.local";

  private static final Consumer<Object> RELEASE_DROPPED = ReferenceCountUtil::safeRelease;

  private static final RateLimitedLog LOG =
      new RateLimitedLog(LoggerFactory.getLogger(MoeRoutes.class), 20, Duration.ofSeconds(10));

  private static final Consumer<Throwable> DROPPED =
      error -> {
        if (!(error instanceof CancellationException)) {
          LOG.warn("a moe.forward channel failed after it ended: " + error);
        }
      };

  private final RequestBatcher batcher;
  private final Supplier<Flux<Map<String, Object>>> heat;
  private final Supplier<Map<String, @Nullable Object>> status;
  private final @Nullable BearerTokens tokens;

  /** Routes that answer anyone. */
  public MoeRoutes(
      RequestBatcher batcher,
      Supplier<Flux<Map<String, Object>>> heat,
      Supplier<Map<String, @Nullable Object>> status) {
    this(batcher, heat, status, null);
  }

  /**
   * Routes that answer only clients with one of {@code tokens} ({@code null}: anyone), sent with
   * the RSocket authentication extension as a bearer token: in the SETUP metadata (the whole
   * connection is then authenticated) or in each request's composite metadata. Both are accepted,
   * so that Spring's {@code RSocketRequester} can send it either way.
   */
  public MoeRoutes(
      RequestBatcher batcher,
      Supplier<Flux<Map<String, Object>>> heat,
      Supplier<Map<String, @Nullable Object>> status,
      @Nullable BearerTokens tokens) {
    this.batcher = Objects.requireNonNull(batcher, "batcher");
    this.heat = Objects.requireNonNull(heat, "heat");
    this.status = Objects.requireNonNull(status, "status");
    this.tokens = tokens;
  }

  @Override
  public Mono<RSocket> accept(ConnectionSetupPayload setup, RSocket sendingSocket) {
    boolean composite = !ROUTING.equals(setup.metadataMimeType());
    boolean authenticated = tokens == null;
    if (tokens != null) {
      BearerMetadata.Verdict verdict =
          BearerMetadata.check(
              setup.metadataMimeType(), setup.hasMetadata() ? setup.metadata() : null, tokens);
      if (verdict == BearerMetadata.Verdict.REFUSED) {
        LOG.warn("refused a client: its SETUP carries a bearer token that is not accepted");
        return Mono.error(new RejectedSetupException("authentication failed"));
      }
      authenticated = verdict == BearerMetadata.Verdict.ACCEPTED;
    }
    return Mono.just(new Responder(composite, authenticated));
  }

  /**
   * The largest payload a server of these routes needs to take: a request of a whole rank's
   * capacity, with room for its metadata. Set it as the server's {@code maxInboundPayloadSize}, so
   * that a larger request is refused before it is reassembled (RSocket takes no cap under 16 MiB).
   */
  public static int maxInboundPayloadSize(RequestBatcher batcher) {
    long request =
        ForwardWireCodec.LAYER_REQUEST_HEADER_BYTES
            + (long) batcher.capacity() * batcher.hidden() * Float.BYTES
            + METADATA_ROOM;
    return (int) Math.min(Integer.MAX_VALUE, Math.max(request, FrameLengthCodec.FRAME_LENGTH_MASK));
  }

  /** The placement of {@code rank} (every rank holds the same maps) as JSON-ready fields. */
  public static Map<String, Object> placement(MoeRank rank) {
    Placement p = rank.status().placement();
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("version", p.version());
    fields.put("ranks", p.ranks());
    fields.put("experts", p.experts());
    fields.put("slots_per_rank", p.slotsPerRank());
    fields.put("digest", String.format("%016x", p.digest()));
    fields.put("phy2log", p.phy2log());
    fields.put("logcnt", p.logcnt());
    int[][] units = p.shares();
    double[][] share = new double[units.length][];
    for (int l = 0; l < units.length; l++) {
      share[l] = new double[units[l].length];
      for (int s = 0; s < units[l].length; s++) {
        share[l][s] = (double) units[l][s] / Placement.SHARE_UNITS;
      }
    }
    fields.put("share", share);
    return fields;
  }

  private final class Responder implements RSocket {
    private final boolean composite;
    private final boolean authenticated;

    Responder(boolean composite, boolean authenticated) {
      this.composite = composite;
      this.authenticated = authenticated;
    }

    /** Why {@code payload} may not be answered (no accepted token), or null when it may. */
    private @Nullable RejectedException unauthorized(Payload payload) {
      if (authenticated || tokens == null) {
        return null;
      }
      BearerMetadata.Verdict verdict =
          BearerMetadata.check(
              composite ? COMPOSITE : ROUTING,
              payload.hasMetadata() ? payload.metadata() : null,
              tokens);
      if (verdict == BearerMetadata.Verdict.ACCEPTED) {
        return null;
      }
      LOG.warn("refused a request: no accepted bearer token (" + verdict + ")");
      return new RejectedException(
          "not authenticated: send a bearer token ("
              + BearerMetadata.MIME_TYPE
              + ") in the SETUP metadata or in each request's composite metadata");
    }

    @Override
    public Mono<Payload> requestResponse(Payload payload) {
      RejectedException denied = unauthorized(payload);
      if (denied != null) {
        payload.release();
        return Mono.error(denied);
      }
      try {
        String route = route(payload);
        switch (route) {
          case "moe.status":
            return Mono.fromCallable(() -> json(status.get()));
          case "moe.placement":
            return Mono.fromCallable(() -> json(placement(batcher.ranks().get(0))));
          default:
            return Mono.error(wrongInteraction(route, "request-response"));
        }
      } catch (IllegalArgumentException e) {
        return Mono.error(e);
      } finally {
        payload.release();
      }
    }

    @Override
    public Flux<Payload> requestStream(Payload payload) {
      RejectedException denied = unauthorized(payload);
      if (denied != null) {
        payload.release();
        return Flux.error(denied);
      }
      try {
        String route = route(payload);
        if (route.equals("moe.heat")) {
          return heat.get().map(MoeRoutes::json);
        }
        return Flux.error(wrongInteraction(route, "request-stream"));
      } catch (IllegalArgumentException e) {
        return Flux.error(e);
      } finally {
        payload.release();
      }
    }

    @Override
    public Flux<Payload> requestChannel(Publisher<Payload> payloads) {
      return Flux.from(payloads)
          .switchOnFirst(
              (first, all) -> {
                Payload initial = first.get();
                if (initial == null) {
                  return all;
                }
                RejectedException denied = unauthorized(initial);
                if (denied != null) {
                  return Flux.error(denied);
                }
                String route;
                try {
                  route = route(initial);
                } catch (IllegalArgumentException e) {
                  return Flux.error(e);
                }
                if (!route.equals("moe.forward")) {
                  return Flux.error(wrongInteraction(route, "request-channel"));
                }
                // answers are encoded only as they leave: one dropped on the way (its channel
                // ended meanwhile) holds no buffer
                return all.flatMapSequential(this::forward, 32).map(Supplier::get);
              })
          // answers made for a channel that ended meanwhile are released, not lost
          .doOnDiscard(Payload.class, ReferenceCountUtil::safeRelease)
          .contextWrite(
              Context.of(
                  ON_ERROR_DROPPED, DROPPED, ON_NEXT_DROPPED, (Consumer<Object>) RELEASE_DROPPED));
    }

    private Mono<Supplier<Payload>> forward(Payload payload) {
      ForwardWireCodec.Request request;
      Duration deadline;
      try {
        if (payload.data().readableBytes() == 0) {
          // a first frame that only opens the route
          return Mono.empty();
        }
        int version = ForwardWireCodec.version(payload.data());
        try {
          deadline = deadline(payload);
        } catch (IllegalArgumentException e) {
          if (version == ForwardWireCodec.VERSION) {
            throw e;
          }
          return Mono.just(refusal(-1, -1, e));
        }
        if (version != ForwardWireCodec.VERSION) {
          // version 2, or a version this server does not speak: refused in band if it must be,
          // so that the channel goes on (only version 1 has no way to refuse one request)
          return forwardLayer(payload.data(), deadline);
        }
        if (!batcher.model().runsEveryLayerPerStep()) {
          return Mono.error(
              new IllegalArgumentException(
                  "moe.forward wire version 1 cannot name a layer, and this server runs the "
                      + batcher.model().describe()
                      + ", one MoE layer per request: send version 2 requests"));
        }
        request = ForwardWireCodec.decodeRequest(payload.data(), batcher.hidden());
      } catch (IllegalArgumentException e) {
        LOG.warn("refused a moe.forward request: " + e.getMessage());
        return Mono.error(e);
      } finally {
        payload.release();
      }
      return batcher
          .submit(request.rank(), TokenBatch.ANY_LAYER, request.tokens(), request.data(), deadline)
          .map(
              served -> {
                TokenBatch out = served.batch();
                // no token, no pick: a 0-token answer says topK 0 (documented on the route)
                int topK = out.tokens() == 0 ? 0 : out.topkIds().length / out.tokens();
                return () ->
                    ByteBufPayload.create(
                        ForwardWire.encodeResponse(
                            ByteBufAllocator.DEFAULT, served.rank(), out, topK));
              });
    }

    /**
     * A version-2 request: its outputs, or a refusal in band (a malformed body, a layer the model
     * does not run, a request the group fails), so the channel carries on.
     */
    private Mono<Supplier<Payload>> forwardLayer(ByteBuf body, @Nullable Duration deadline) {
      ForwardWireCodec.Request request;
      try {
        request = ForwardWireCodec.decodeRequest(body, batcher.hidden());
      } catch (IllegalArgumentException e) {
        return Mono.just(refusal(-1, -1, e));
      }
      return batcher
          .submit(request.rank(), request.layer(), request.tokens(), request.data(), deadline)
          .map(
              served -> {
                TokenBatch out = served.batch();
                int topK = out.tokens() == 0 ? 0 : out.topkIds().length / out.tokens();
                return (Supplier<Payload>)
                    () ->
                        ByteBufPayload.create(
                            ForwardWireCodec.encodeLayerResponse(
                                ByteBufAllocator.DEFAULT,
                                ForwardWireCodec.LayerResponse.ran(
                                    served.rank(),
                                    out.layer(),
                                    out.step(),
                                    served.placementVersion(),
                                    out.tokens(),
                                    out.hidden(),
                                    topK,
                                    out.data(),
                                    out.topkIds(),
                                    out.topkWeights())));
              })
          .onErrorResume(error -> Mono.just(refusal(request.rank(), request.layer(), error)));
    }

    private Supplier<Payload> refusal(int rank, int layer, Throwable error) {
      String message = error.getMessage() != null ? error.getMessage() : error.toString();
      LOG.warn("refused a moe.forward request: " + message);
      return () ->
          ByteBufPayload.create(
              ForwardWireCodec.encodeLayerResponse(
                  ByteBufAllocator.DEFAULT,
                  ForwardWireCodec.LayerResponse.refused(rank, layer, message)));
    }

    /**
     * The request's deadline: its {@link ForwardDeadlineCodec#MIME_TYPE} entry of composite
     * metadata, or null when it carries none.
     *
     * @throws IllegalArgumentException when the entry is malformed
     */
    private @Nullable Duration deadline(Payload payload) {
      if (!composite || !payload.hasMetadata() || payload.metadata().readableBytes() == 0) {
        return null;
      }
      List<ByteBuf> entries = new ArrayList<>();
      try {
        for (CompositeMetadata.Entry entry : new CompositeMetadata(payload.metadata(), false)) {
          if (ForwardDeadlineCodec.MIME_TYPE.equals(entry.getMimeType())) {
            entries.add(entry.getContent());
          }
        }
      } catch (RuntimeException malformed) {
        throw new IllegalArgumentException("malformed composite metadata: " + malformed, malformed);
      }
      return entries.isEmpty() ? null : ForwardDeadlineCodec.decode(entries.get(0));
    }

    private String route(Payload payload) {
      if (!payload.hasMetadata() || payload.metadata().readableBytes() == 0) {
        throw new IllegalArgumentException(
            "no route: send routing metadata (" + ROUTING + "), one of " + ROUTES);
      }
      ByteBuf metadata = payload.metadata();
      if (!composite) {
        return firstTag(new RoutingMetadata(metadata));
      }
      for (CompositeMetadata.Entry entry : new CompositeMetadata(metadata, false)) {
        if (ROUTING.equals(entry.getMimeType())) {
          return firstTag(new RoutingMetadata(entry.getContent()));
        }
      }
      throw new IllegalArgumentException(
          "no route in the composite metadata: add a " + ROUTING + " entry, one of " + ROUTES);
    }

    private String firstTag(RoutingMetadata routing) {
      Iterator<String> tags = routing.iterator();
      if (!tags.hasNext()) {
        throw new IllegalArgumentException("empty routing metadata: one of " + ROUTES);
      }
      return tags.next();
    }

    private IllegalArgumentException wrongInteraction(String route, String interaction) {
      if (!ROUTES.contains(route)) {
        return new IllegalArgumentException("unknown route '" + route + "': one of " + ROUTES);
      }
      return new IllegalArgumentException(
          "route '"
              + route
              + "' does not answer "
              + interaction
              + " (moe.forward: request-channel,"
              + " moe.heat: request-stream, moe.placement and moe.status: request-response)");
    }
  }

  static Payload json(Object value) {
    try {
      return DefaultPayload.create(JSON.writeValueAsBytes(value));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** For the wire: {@link #COMPOSITE} is the metadata MIME type clients should announce. */
  public static String compositeMimeType() {
    return COMPOSITE;
  }
}
