package io.moeflux.eplb.rebalance;

import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.migration.MigrationPlan;
import io.moeflux.eplb.migration.WeightMigration;
import io.moeflux.eplb.policy.PlacementPlan;
import io.moeflux.eplb.policy.PlacementProblem;
import io.moeflux.eplb.policy.PlanValidator;
import io.moeflux.pipeline.RankContext;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.pipeline.placement.SwitchSchedule;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * The online EPLB loop of one rank: heat snapshot → plan (on the planner scheduler) → validate →
 * migrate the changed expert weights over the mesh → offer the prepared placement at the next
 * switch step, where every rank switches together or none does.
 *
 * <p>Every rank sees the same snapshot (the heat all-gather is a consistent cut) and runs the same
 * deterministic policy, so every rank reaches the same decision and joins the same migration
 * without a plan being sent; the switch gate still compares the plans' digests.
 *
 * <p>A plan is worth its cost only when its predicted balancedness beats the placement in force,
 * scored on the same snapshot, by at least {@link RebalanceOptions#minimumGain()}: a permutation
 * within ranks gains exactly 0 and is never adopted. One plan is in flight at a time; a plan is
 * only ever offered at the switch step it was made for. A window that contains a switch mixes two
 * placements and is not planned on: the heat window restarts after a switch.
 */
public final class Rebalancer implements PlacementSource, Disposable {
  private record Pending(long switchStep, long version) {}

  /** Events replayed to a late subscriber: the most recent ones. */
  public static final int REPLAYED_EVENTS = 256;

  /** Applied switches remembered: more than heat windows in flight ever reach back. */
  private static final int REMEMBERED_SWITCHES = 64;

  private final RankContext rank;
  private final RebalanceOptions options;
  private final SwitchSchedule schedule;
  private final WeightMigration migration;
  // bounded: a server rebalances for as long as it runs
  private final Sinks.Many<RebalanceEvent> events = Sinks.many().replay().limit(REPLAYED_EVENTS);
  private final Disposable.Swap subscription = Disposables.swap();
  private final AtomicLong switches = new AtomicLong();
  private final AtomicLong bytesMigrated = new AtomicLong();
  private volatile @Nullable Pending pending;
  private volatile @Nullable PreparedPlacement ready;
  private volatile long readyFor = -1;
  private volatile long lastSwitch = -1;
  // planner thread only: the switch step of the last plan made
  private volatile long lastPlannedSwitch = -1;
  // steps where a new placement applied; the main path adds, the planner reads
  private final ConcurrentSkipListSet<Long> appliedSwitches = new ConcurrentSkipListSet<>();

  private Rebalancer(RankContext rank, RebalanceOptions options) {
    this.rank = rank;
    this.options = options;
    this.schedule = rank.config().switches();
    this.migration = new WeightMigration(rank);
  }

  /**
   * Starts the loop of the rank behind {@code rank}: plans on every snapshot of {@code heat} (that
   * rank's heat stream) from now on. Give the result to the rank as its placement source, from the
   * {@link io.moeflux.pipeline.RankExtensions} factory that receives {@code rank}; dispose it when
   * the rank is done.
   *
   * @throws IllegalArgumentException when the rank's switch schedule is off
   */
  public static Rebalancer start(
      RankContext rank, HeatStream heat, RebalanceOptions options, Scheduler planner) {
    Objects.requireNonNull(rank, "rank");
    Objects.requireNonNull(heat, "heat");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(planner, "planner");
    if (!rank.config().switches().enabled()) {
      throw new IllegalArgumentException("the rank's switch schedule is off: nothing to switch at");
    }
    Rebalancer balancer = new Rebalancer(rank, options);
    balancer.subscription.update(
        heat.snapshots()
            .publishOn(planner)
            .concatMap(balancer::onSnapshot)
            .subscribe(
                null, error -> balancer.emit(RebalanceEvent.Kind.FAILED, -1, error.toString())));
    return balancer;
  }

  private Mono<Void> onSnapshot(HeatSnapshot snapshot) {
    long end = snapshot.toStep();
    // Decided from steps only, never from how far this rank's main path has got: every rank
    // must decide alike, or one rank migrates alone and waits for peers that never join.
    long planned = lastPlannedSwitch;
    if (planned >= end) {
      return skip(end, "a plan is still pending for step " + planned);
    }
    Long mixed = appliedSwitches.ceiling(snapshot.fromStep());
    if (mixed != null && mixed < end) {
      return skip(end, "the window mixes two placements (switch at step " + mixed + ")");
    }
    double before = snapshot.meanBalancedness();
    if (before >= options.balancedEnough()) {
      return skip(end, String.format("balanced enough (%.3f)", before));
    }
    Placement now = rank.placement();
    PlacementPlan plan;
    Placement next;
    SwitchGain gain;
    try {
      double[][] load = snapshot.logicalLoad(now);
      PlacementProblem problem =
          PlacementProblem.builder(load)
              .replicas(now.slots())
              .ranks(now.ranks())
              .current(now)
              .build();
      plan = options.policy().plan(problem);
      PlanValidator.validate(problem, plan);
      next = plan.toPlacement(now.experts(), now.ranks(), end);
      gain = SwitchGain.of(load, now, next);
    } catch (IllegalArgumentException invalid) {
      emit(RebalanceEvent.Kind.REJECTED, end, invalid.getMessage());
      return Mono.empty();
    }
    if (!gain.worthIt(options.minimumGain())) {
      return skip(
          end,
          String.format(
              "the plan would reach %.4f from %.4f on this window's load, a gain of %.4f, less than"
                  + " the minimum %.4f%s",
              gain.planned(),
              gain.current(),
              gain.gain(),
              options.minimumGain(),
              gain.sameSlotsPerRank() ? " (the ranks would hold the same replicas)" : ""));
    }
    long switchStep = schedule.nextSwitchStepAfter(end - 1);
    Pending mine = new Pending(switchStep, end);
    pending = mine;
    lastPlannedSwitch = switchStep;
    MigrationPlan moves = MigrationPlan.between(now, next);
    long bytes = moves.transfers().size() * (long) migration.expertFloats() * Float.BYTES;
    emit(
        RebalanceEvent.Kind.MIGRATING,
        end,
        String.format(
            "balancedness %.3f -> %.3f planned on this window's load (%.3f measured); %d expert"
                + " copies (%d bytes) move for step %d",
            gain.current(), gain.planned(), before, moves.transfers().size(), bytes, switchStep));
    // The migration runs on the mesh's bulk lane; the planner only waits for it to finish.
    migration
        .migrate(moves, end)
        .subscribe(
            prepared -> {
              if (pending == mine) {
                ready = prepared;
                readyFor = switchStep;
                bytesMigrated.addAndGet(bytes);
                emit(RebalanceEvent.Kind.READY, end, "weights in place for step " + switchStep);
              }
            },
            error ->
                emit(RebalanceEvent.Kind.FAILED, end, "migration failed: " + error.getMessage()));
    return Mono.empty();
  }

  private Mono<Void> skip(long step, String why) {
    emit(RebalanceEvent.Kind.SKIPPED, step, why);
    return Mono.empty();
  }

  private void emit(RebalanceEvent.Kind kind, long step, String detail) {
    emit(new RebalanceEvent(kind, step, detail, null));
  }

  private void emit(RebalanceEvent event) {
    synchronized (events) {
      events.tryEmitNext(event);
    }
  }

  // ---- PlacementSource, on the main path

  @Override
  public @Nullable PreparedPlacement preparedFor(long switchStep) {
    return readyFor == switchStep ? ready : null;
  }

  @Override
  public void switched(long step, @Nullable PreparedPlacement applied, String why) {
    Pending mine = pending;
    if (mine == null || mine.switchStep() > step) {
      return;
    }
    if (mine.switchStep() < step) {
      // planned after its switch step had already run (steps outpaced the heat window): drop it,
      // or it would stay pending forever and block every later plan
      pending = null;
      ready = null;
      readyFor = -1;
      emit(RebalanceEvent.Kind.KEPT, step, "the plan for step " + mine.switchStep() + " came late");
      return;
    }
    pending = null;
    ready = null;
    readyFor = -1;
    if (applied != null) {
      lastSwitch = step;
      appliedSwitches.add(step);
      while (appliedSwitches.size() > REMEMBERED_SWITCHES) {
        appliedSwitches.pollFirst();
      }
      switches.incrementAndGet();
      emit(new RebalanceEvent(RebalanceEvent.Kind.SWITCHED, step, why, applied.placement()));
    } else {
      emit(RebalanceEvent.Kind.KEPT, step, why);
    }
  }

  /**
   * What this balancer did: every event to a subscriber from then on, and the last {@value
   * #REPLAYED_EVENTS} before it to a late one.
   */
  public Flux<RebalanceEvent> events() {
    return events.asFlux();
  }

  public long switches() {
    return switches.get();
  }

  public long bytesMigrated() {
    return bytesMigrated.get();
  }

  /** The step of the last switch, or -1. */
  public long lastSwitch() {
    return lastSwitch;
  }

  @Override
  public void dispose() {
    subscription.dispose();
  }

  @Override
  public boolean isDisposed() {
    return subscription.isDisposed();
  }
}
