package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.transport.protocol.WireFormat;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * How one rank runs the MoE step: the model (synthetic, from a {@link ModelConfig}, or a
 * checkpoint's MoE blocks, any {@link MoeModel}), the capacity and the rest.
 *
 * <p>Immutable; made by {@link #builder(MoeModel, int)} or {@link #builder(ModelConfig, int)} (the
 * model and the capacity have no default; the other defaults are listed on {@link Builder}) or
 * {@link #of(ModelConfig, int)}, and changed through {@link #toBuilder()}. Two configurations are
 * equal when every field is.
 */
public final class PipelineConfig {
  /** Hidden values per rank from which a step is heavy by default ({@link #heavySteps()}). */
  public static final long HEAVY_STEP_VALUES = 1L << 19;

  private final MoeModel model;
  private final int maxTokensPerRank;
  private final Scheduler expertScheduler;
  private final int expertThreads;
  private final long heavyStepValues;
  private final SyncOptions sync;
  private final SwitchSchedule switches;
  private final int redundantSlots;
  private final StepToggle heatSteps;
  private final WireFormat wire;
  private final Overlap overlap;

  private PipelineConfig(Builder b, Scheduler expertScheduler) {
    this.model = b.model;
    this.maxTokensPerRank = b.maxTokensPerRank;
    this.expertScheduler = expertScheduler;
    this.expertThreads = b.expertThreads;
    this.heavyStepValues = b.heavyStepValues;
    this.sync = b.sync;
    this.switches = b.switches;
    this.redundantSlots = b.redundantSlots;
    this.heatSteps = b.heatSteps;
    this.wire = b.wire;
    this.overlap = b.overlap;
  }

  /** A builder for {@code model} with capacity {@code maxTokensPerRank} and the other defaults. */
  public static Builder builder(MoeModel model, int maxTokensPerRank) {
    return new Builder(model, maxTokensPerRank);
  }

  /**
   * A builder for the synthetic model of {@code model} ({@link SyntheticModel#of(ModelConfig)},
   * with a bank of its own) with capacity {@code maxTokensPerRank} and the other defaults.
   */
  public static Builder builder(ModelConfig model, int maxTokensPerRank) {
    return new Builder(SyntheticModel.of(model), maxTokensPerRank);
  }

  /** The {@link Builder} defaults for {@code model} with capacity {@code maxTokensPerRank}. */
  public static PipelineConfig of(MoeModel model, int maxTokensPerRank) {
    return builder(model, maxTokensPerRank).build();
  }

  /** The {@link Builder} defaults for the synthetic {@code model}. */
  public static PipelineConfig of(ModelConfig model, int maxTokensPerRank) {
    return builder(model, maxTokensPerRank).build();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    return new Builder(model, maxTokensPerRank)
        .expertScheduler(expertScheduler)
        .expertThreads(expertThreads)
        .heavyStepValues(heavyStepValues)
        .sync(sync)
        .switches(switches)
        .redundantSlots(redundantSlots)
        .heatSteps(heatSteps)
        .wire(wire)
        .overlap(overlap);
  }

  /** The model every rank runs (its fingerprint entries are checked at handshake). */
  public MoeModel model() {
    return model;
  }

  /**
   * Capacity: the most tokens one rank may bring to one step; receive buffers are sized once for
   * the worst case it implies.
   */
  public int maxTokensPerRank() {
    return maxTokensPerRank;
  }

  /**
   * Where expert math runs once a dispatch phase completes. {@link Schedulers#immediate()} runs it
   * inline on the I/O thread that delivered the last frame (no thread hop: best for cheap experts);
   * a parallel scheduler keeps heavy math off the I/O threads.
   */
  public Scheduler expertScheduler() {
    return expertScheduler;
  }

  /**
   * Whether this config's steps are heavy: at least {@link #heavyStepValues()} hidden values per
   * rank (capacity × hidden). A heavy step runs its combine on {@link #expertScheduler()} too, and
   * by default its experts even when they are identities, so that no rank's math runs on the I/O
   * thread that happened to deliver its last frame: with 4 ranks × 2048 tokens sharing 2 I/O
   * threads, one of them did 31 s of the math while the other did 18 s and a core stood idle. A
   * light step keeps the math there (a thread hop per phase cost 8 % at 4 × 128).
   */
  public boolean heavySteps() {
    return (long) maxTokensPerRank * model.hidden() >= heavyStepValues;
  }

  /** Hidden values per rank from which a step is heavy; default {@value #HEAVY_STEP_VALUES}. */
  public long heavyStepValues() {
    return heavyStepValues;
  }

  /**
   * Threads that run one rank's experts (its {@link io.moeflux.pipeline.model.ExpertWorkers}): the
   * thread of {@link #expertScheduler()} that takes the phase and helpers of the rank's own. 0
   * means the rank's share of the machine's cores, decided when it starts: the cores divided by the
   * ranks a {@link MoeGroup} starts in this JVM (a rank started alone takes them all), at least 1.
   * Any count gives the same bits.
   */
  public int expertThreads() {
    return expertThreads;
  }

  /**
   * {@link #expertThreads()}, or when it is 0, one rank's share of the cores when {@code
   * ranksInJvm} ranks share this JVM.
   */
  public int expertThreads(int ranksInJvm) {
    return expertThreads > 0 ? expertThreads : ExpertWorkers.shareOfCores(ranksInJvm);
  }

  /** The rank's role and what decides whether it skips the per-step DP metadata sync. */
  public SyncOptions sync() {
    return sync;
  }

  /** The steps at which ranks may switch to a new expert placement. */
  public SwitchSchedule switches() {
    return switches;
  }

  /**
   * Physical expert slots beyond one per logical expert (replicas for load balancing), rounded up
   * to a whole number of slots per rank; see {@link Placement#withRedundancy}.
   */
  public int redundantSlots() {
    return redundantSlots;
  }

  /**
   * The steps whose heat the rank hands to its {@link HeatTap} ({@link HeatTap#onDispatch}); at the
   * other steps the tap gets nothing but {@link HeatTap#onStepEnd}. A run-time switch for comparing
   * heat on against heat off in one running group; every rank must use the same toggle (the
   * handshake compares it).
   */
  public StepToggle heatSteps() {
    return heatSteps;
  }

  /**
   * The precision hidden values travel in between ranks, per phase. Rounding happens only where a
   * row crosses a socket; arithmetic on arrival is float32.
   */
  public WireFormat wire() {
    return wire;
  }

  /** Whether steps are split into two micro-batches that overlap compute and exchange. */
  public Overlap overlap() {
    return overlap;
  }

  /** The placement every rank starts from. */
  public Placement initialPlacement(int ranks) {
    return Placement.withRedundancy(model.layers(), model.experts(), ranks, redundantSlots);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PipelineConfig c
        && model.equals(c.model)
        && maxTokensPerRank == c.maxTokensPerRank
        && expertScheduler.equals(c.expertScheduler)
        && expertThreads == c.expertThreads
        && heavyStepValues == c.heavyStepValues
        && sync.equals(c.sync)
        && switches.equals(c.switches)
        && redundantSlots == c.redundantSlots
        && heatSteps.equals(c.heatSteps)
        && wire.equals(c.wire)
        && overlap.equals(c.overlap);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        model,
        maxTokensPerRank,
        expertScheduler,
        expertThreads,
        heavyStepValues,
        sync,
        switches,
        redundantSlots,
        heatSteps,
        wire,
        overlap);
  }

  @Override
  public String toString() {
    return "PipelineConfig[model="
        + model
        + ", maxTokensPerRank="
        + maxTokensPerRank
        + ", expertScheduler="
        + expertScheduler
        + ", expertThreads="
        + expertThreads
        + ", heavyStepValues="
        + heavyStepValues
        + ", sync="
        + sync
        + ", switches="
        + switches
        + ", redundantSlots="
        + redundantSlots
        + ", heatSteps="
        + heatSteps
        + ", wire="
        + wire
        + ", overlap="
        + overlap
        + "]";
  }

  /**
   * Collects a {@link PipelineConfig}. Defaults: expert math on {@link Schedulers#immediate()} for
   * {@link ExpertKind#IDENTITY} experts in light steps and on {@link Schedulers#parallel()}
   * otherwise (chosen at {@link #build()} from the model and capacity when no scheduler was set;
   * see {@link PipelineConfig#heavySteps()}), {@link SyncOptions#decodeOnly()} (a decode-only rank
   * without local recompute: the DP metadata sync is skipped), {@link SwitchSchedule#none()}, no
   * redundant slots, heat handed over at every step ({@link StepToggle#always()}), expert threads:
   * the rank's share of the cores ({@link PipelineConfig#expertThreads()}), {@link WireFormat#F32}
   * on the wire, {@link Overlap#off()}.
   */
  public static final class Builder {
    private MoeModel model;
    private int maxTokensPerRank;
    private @Nullable Scheduler expertScheduler;
    private int expertThreads;
    private long heavyStepValues = HEAVY_STEP_VALUES;
    private SyncOptions sync = SyncOptions.decodeOnly();
    private SwitchSchedule switches = SwitchSchedule.none();
    private int redundantSlots;
    private StepToggle heatSteps = StepToggle.always();
    private WireFormat wire = WireFormat.F32;
    private Overlap overlap = Overlap.off();

    private Builder(MoeModel model, int maxTokensPerRank) {
      this.model = Objects.requireNonNull(model, "model");
      this.maxTokensPerRank = maxTokensPerRank;
    }

    /** The model every rank runs. */
    public Builder model(MoeModel model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    /** The synthetic model of {@code model}, with a bank of its own. */
    public Builder model(ModelConfig model) {
      this.model = SyntheticModel.of(model);
      return this;
    }

    /** Capacity in tokens per rank per step, {@code >= 1}. */
    public Builder maxTokensPerRank(int maxTokensPerRank) {
      this.maxTokensPerRank = maxTokensPerRank;
      return this;
    }

    /** Where expert math runs; default by expert kind (see {@link Builder}). */
    public Builder expertScheduler(Scheduler expertScheduler) {
      this.expertScheduler = Objects.requireNonNull(expertScheduler, "expertScheduler");
      return this;
    }

    /**
     * Threads that run one rank's experts, {@code >= 1}, or 0 for the rank's share of the cores
     * (the default; see {@link PipelineConfig#expertThreads()}).
     */
    public Builder expertThreads(int expertThreads) {
      this.expertThreads = expertThreads;
      return this;
    }

    /**
     * Hidden values per rank (capacity × hidden) from which steps are heavy, {@code >= 1}; default
     * {@value PipelineConfig#HEAVY_STEP_VALUES} (see {@link PipelineConfig#heavySteps()}).
     */
    public Builder heavyStepValues(long heavyStepValues) {
      this.heavyStepValues = heavyStepValues;
      return this;
    }

    /** The rank's role and sync rule; default {@link SyncOptions#decodeOnly()}. */
    public Builder sync(SyncOptions sync) {
      this.sync = Objects.requireNonNull(sync, "sync");
      return this;
    }

    /** When placements may switch; default {@link SwitchSchedule#none()}. */
    public Builder switches(SwitchSchedule switches) {
      this.switches = Objects.requireNonNull(switches, "switches");
      return this;
    }

    /**
     * Physical slots beyond one per logical expert, {@code >= 0}, rounded up to a whole number per
     * rank; default 0.
     */
    public Builder redundantSlots(int redundantSlots) {
      this.redundantSlots = redundantSlots;
      return this;
    }

    /** The wire precision of each phase; default {@link WireFormat#F32}. */
    public Builder wire(WireFormat wire) {
      this.wire = Objects.requireNonNull(wire, "wire");
      return this;
    }

    /** Micro-batch overlap; default {@link Overlap#off()}. */
    public Builder overlap(Overlap overlap) {
      this.overlap = Objects.requireNonNull(overlap, "overlap");
      return this;
    }

    /**
     * The steps whose heat goes to the heat tap; default {@link StepToggle#always()}. See {@link
     * PipelineConfig#heatSteps()}.
     */
    public Builder heatSteps(StepToggle heatSteps) {
      this.heatSteps = Objects.requireNonNull(heatSteps, "heatSteps");
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public PipelineConfig build() {
      if (redundantSlots < 0) {
        throw new IllegalArgumentException("redundantSlots must be >= 0, got " + redundantSlots);
      }
      if (expertThreads < 0) {
        throw new IllegalArgumentException(
            "expertThreads must be >= 0 (0: the rank's share of the cores), got " + expertThreads);
      }
      if (heavyStepValues < 1) {
        throw new IllegalArgumentException("heavyStepValues must be >= 1, got " + heavyStepValues);
      }
      if (maxTokensPerRank < 1) {
        throw new IllegalArgumentException(
            "maxTokensPerRank must be >= 1, got " + maxTokensPerRank);
      }
      Scheduler scheduler = expertScheduler;
      if (scheduler == null) {
        scheduler =
            model.expertKind() == ExpertKind.IDENTITY
                    && (long) maxTokensPerRank * model.hidden() < heavyStepValues
                ? Schedulers.immediate()
                : Schedulers.parallel();
      }
      return new PipelineConfig(this, scheduler);
    }
  }
}
