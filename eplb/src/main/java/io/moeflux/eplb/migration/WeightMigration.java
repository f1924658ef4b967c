package io.moeflux.eplb.migration;

import io.moeflux.pipeline.RankContext;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ExpertWeights;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.MigrationChunkCodec;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Gives each rank the expert weights a {@link MigrationPlan} adds to it, while the pipeline keeps
 * running on the DATA lane. Where they come from depends on the model:
 *
 * <ul>
 *   <li>a checkpoint model ({@link MoeModel#loadsMovedExperts()}): every rank has the checkpoint
 *       (the handshake compared its digest), so a rank loads the experts it gains from its own
 *       copy, in their stored precision, on a bounded-elastic thread; nothing crosses the mesh;
 *   <li>the synthetic model: over the mesh's BULK lane, in their float32 precision. The weights a
 *       rank sends to one peer form one stream (the plan's transfers in order, each expert's gate,
 *       up and down matrices); streams go in rounds of at most {@link #CHUNK_FLOATS} floats per
 *       peer, one frame to every peer per round (empty when there is nothing left), so at most one
 *       chunk per peer is ever in flight ahead of decode frames. Every rank derives the round count
 *       from the plan alone.
 * </ul>
 */
public final class WeightMigration {
  /** 1 MiB of weights per frame. */
  public static final int CHUNK_FLOATS = 256 * 1024;

  private final RankContext rank;
  private final RankMesh mesh;
  private final MoeModel model;

  /** The synthetic model's expert intermediate size (the shape of what travels); 0 otherwise. */
  private final int intermediate;

  /** Migrates weights to and from the rank behind {@code rank}, over its mesh. */
  public WeightMigration(RankContext rank) {
    this.rank = Objects.requireNonNull(rank, "rank");
    this.mesh = rank.mesh();
    this.model = rank.config().model();
    this.intermediate =
        model instanceof SyntheticModel synthetic ? synthetic.config().intermediate() : 0;
  }

  /**
   * Floats one expert's weights take on the wire: 0 for identity experts, and for a model whose
   * ranks load moved experts themselves.
   */
  public int expertFloats() {
    if (model.expertKind() == ExpertKind.IDENTITY || model.loadsMovedExperts()) {
      return 0;
    }
    return 3 * model.hidden() * intermediate;
  }

  /**
   * Runs the plan's transfers for this rank; {@code tag} (the plan's version) keeps frames of
   * different migrations apart. Completes with this rank's experts under {@code plan.to()}.
   */
  public Mono<PreparedPlacement> migrate(MigrationPlan plan, long tag) {
    return Mono.defer(
        () -> {
          if (!plan.from().samePlacementAs(rank.placement())) {
            return Mono.error(
                new IllegalStateException(
                    "rank "
                        + rank.rank()
                        + ": the plan migrates from placement v"
                        + plan.from().version()
                        + " but v"
                        + rank.placement().version()
                        + " is in force"));
          }
          if (model.loadsMovedExperts()) {
            return Mono.fromCallable(() -> loaded(plan)).subscribeOn(Schedulers.boundedElastic());
          }
          int ranks = mesh.worldSize();
          int self = mesh.rank();
          int per = expertFloats();
          float[][] outgoing = new float[ranks][];
          float[][] incoming = new float[ranks][];
          long rounds = 0;
          for (int source = 0; source < ranks; source++) {
            for (int target = 0; target < ranks; target++) {
              if (source == target) {
                continue;
              }
              long floats = (long) plan.between(source, target).size() * per;
              rounds = Math.max(rounds, (floats + CHUNK_FLOATS - 1) / CHUNK_FLOATS);
              if (source == self) {
                outgoing[target] = stream(plan.between(self, target), per);
              } else if (target == self) {
                incoming[source] = new float[Math.toIntExact(floats)];
              }
            }
          }
          return Flux.range(0, Math.toIntExact(rounds))
              .concatMap(round -> round(tag, round, outgoing, incoming))
              .then(Mono.fromCallable(() -> prepared(plan, incoming, per)));
        });
  }

  private float[] stream(List<MigrationPlan.Transfer> transfers, int per) {
    float[] stream = new float[transfers.size() * per];
    for (int i = 0; i < transfers.size(); i++) {
      MigrationPlan.Transfer t = transfers.get(i);
      ExpertWeights weights = heldWeights(t.layer(), t.logical());
      if (weights != null) {
        weights.copyTo(stream, i * per);
      }
    }
    return stream;
  }

  /** This rank's copy of an expert it holds now (null for identity experts). */
  private @Nullable ExpertWeights heldWeights(int layer, int logical) {
    ExpertFfn held = held(rank.placement(), layer, logical);
    if (held != null) {
      return held.weights();
    }
    throw new IllegalStateException(
        "rank "
            + mesh.rank()
            + " is asked to send expert "
            + logical
            + " of layer "
            + layer
            + " which it does not hold");
  }

  private Mono<Void> round(long tag, int round, float[][] outgoing, float[][] incoming) {
    int self = mesh.rank();
    for (int peer = 0; peer < outgoing.length; peer++) {
      if (peer == self) {
        continue;
      }
      float[] stream = outgoing[peer];
      int from = Math.min(stream.length, round * CHUNK_FLOATS);
      int count = Math.min(CHUNK_FLOATS, stream.length - from);
      mesh.send(
          peer,
          MigrationChunkCodec.encode(mesh.allocator(), tag, round, self, stream, from, count));
    }
    return mesh.receive(FrameKind.MIGRATION, tag, round)
        .doOnNext(
            frames -> {
              try {
                absorb(round, frames, incoming);
              } finally {
                frames.release();
              }
            })
        .then();
  }

  private void absorb(int round, PeerFrames frames, float[][] incoming) {
    for (int source = 0; source < incoming.length; source++) {
      if (source == mesh.rank()) {
        continue;
      }
      int count = frames.count(source);
      int offset = round * CHUNK_FLOATS;
      float[] stream = incoming[source];
      int expected = Math.max(0, Math.min(CHUNK_FLOATS, stream.length - offset));
      if (count != expected) {
        throw new IllegalStateException(
            "rank "
                + mesh.rank()
                + ": migration round "
                + round
                + " from rank "
                + source
                + " carried "
                + count
                + " floats, expected "
                + expected);
      }
      ByteBuf frame = frames.frame(source);
      if (count > 0 && frame != null) {
        MigrationChunkCodec.decode(frame, stream, offset);
      }
    }
  }

  /** This rank's experts under {@code plan.to()}: those it holds kept, the others loaded. */
  private PreparedPlacement loaded(MigrationPlan plan) {
    return experts(
        plan.to(),
        (layer, logical) -> {
          ExpertFfn held = held(plan.from(), layer, logical);
          return held != null ? held : model.expert(layer, logical);
        });
  }

  /** This rank's experts under {@code plan.to()}: those it holds kept, the others received. */
  private PreparedPlacement prepared(MigrationPlan plan, float[][] incoming, int per) {
    return experts(plan.to(), (layer, logical) -> expertFor(plan, incoming, per, layer, logical));
  }

  /** Where this rank's expert for (layer, logical) comes from. */
  private interface ExpertSource {
    ExpertFfn expert(int layer, int logical);
  }

  private PreparedPlacement experts(Placement to, ExpertSource source) {
    int self = mesh.rank();
    int slotsPerRank = to.slotsPerRank();
    ExpertFfn[][] local = new ExpertFfn[to.layers()][slotsPerRank];
    for (int layer = 0; layer < to.layers(); layer++) {
      for (int i = 0; i < slotsPerRank; i++) {
        local[layer][i] = source.expert(layer, to.logicalOf(layer, self * slotsPerRank + i));
      }
    }
    return new PreparedPlacement(to, local);
  }

  /** This rank's expert {@code logical} of {@code layer} under {@code now}, or null. */
  private @Nullable ExpertFfn held(Placement now, int layer, int logical) {
    int base = mesh.rank() * now.slotsPerRank();
    for (int i = 0; i < now.slotsPerRank(); i++) {
      if (now.logicalOf(layer, base + i) == logical) {
        return rank.localExpert(layer, i);
      }
    }
    return null;
  }

  private ExpertFfn expertFor(
      MigrationPlan plan, float[][] incoming, int per, int layer, int logical) {
    int self = mesh.rank();
    ExpertFfn held = held(plan.from(), layer, logical);
    if (held != null) {
      return held;
    }
    if (model.expertKind() == ExpertKind.IDENTITY) {
      return ExpertFfn.identity(model.hidden());
    }
    for (int source = 0; source < incoming.length; source++) {
      List<MigrationPlan.Transfer> received = plan.between(source, self);
      for (int j = 0; j < received.size(); j++) {
        MigrationPlan.Transfer t = received.get(j);
        if (t.layer() == layer && t.logical() == logical) {
          return ((SyntheticModel) model)
              .bank()
              .expertOf(
                  ExpertWeights.copyOf(model.hidden(), intermediate, incoming[source], j * per));
        }
      }
    }
    throw new IllegalStateException(
        "rank " + self + " neither holds nor received expert " + logical + " of layer " + layer);
  }
}
