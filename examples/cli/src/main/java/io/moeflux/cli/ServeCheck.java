package io.moeflux.cli;

import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.serving.RequestBatcher;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * {@code serve --check}: every step this rank runs, its output against the single-process reference
 * for its input, bitwise, under the placement the rank's history says was in force for the step.
 * The reference runs on a thread of its own, behind the steps (it never slows them), with every
 * step buffered until checked.
 */
final class ServeCheck implements Disposable {
  private final OutputCheck check = new OutputCheck();
  private final PlacementReferences references;
  private final Scheduler thread = Schedulers.newSingle("moeflux-check");
  private final Disposable subscription;

  ServeCheck(RequestBatcher batcher, MoeRank rank) {
    this.references = new PlacementReferences(rank.config().model(), rank.config().wire());
    this.subscription =
        batcher
            .stepsServed()
            .onBackpressureBuffer()
            .publishOn(thread)
            .subscribe(
                step -> {
                  long id = step.input().step();
                  ReferenceModel reference = references.at(rank.placementHistory(), id);
                  check.compare(id, step.output(), reference.forward(step.rank(), step.input()));
                });
  }

  /** {@code check_steps} (steps checked) and {@code check_mismatches}, for {@code moe.status}. */
  void putInto(Map<String, @Nullable Object> status) {
    status.put("check_steps", check.outputs());
    status.put("check_mismatches", check.mismatches());
  }

  @Override
  public void dispose() {
    subscription.dispose();
    thread.dispose();
  }

  @Override
  public boolean isDisposed() {
    return subscription.isDisposed();
  }
}
