package io.moeflux.transport.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.protocol.FrameKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

class StepOpeningsTest {
  @Test
  void onlyStepIdsOpenSteps() {
    assertThat(StepOpenings.opens(FrameKind.DISPATCH, 0, 3)).isTrue();
    assertThat(StepOpenings.opens(FrameKind.ABORT, 5, 0)).isTrue();
    assertThat(StepOpenings.opens(FrameKind.SYNC, 4, 0)).isTrue();
    assertThat(StepOpenings.opens(FrameKind.SYNC, -1, 0)).isFalse();
    assertThat(StepOpenings.opens(FrameKind.PLAN, 6, 0)).isTrue();
    assertThat(StepOpenings.opens(FrameKind.PLAN, 6, -1)).isFalse();
    assertThat(StepOpenings.opens(FrameKind.PLAN, Long.MAX_VALUE, 0)).isFalse();
    assertThat(StepOpenings.opens(FrameKind.HEAT, 6, 0)).isFalse();
    assertThat(StepOpenings.opens(FrameKind.MIGRATION, 6, 0)).isFalse();
    assertThat(StepOpenings.opens(FrameKind.FAILURE, 6, 0)).isFalse();
  }

  @Test
  void eachStepOnceInIncreasingOrderAndTheLatestForALateSubscriber() {
    StepOpenings openings = new StepOpenings();
    List<Long> early = new ArrayList<>();
    openings.steps().subscribe(early::add);
    openings.arrived(FrameKind.DISPATCH, 0, 0);
    openings.arrived(FrameKind.DISPATCH, 0, 0);
    openings.arrived(FrameKind.COMBINE, 0, 0);
    openings.arrived(FrameKind.SYNC, 2, 0);
    openings.arrived(FrameKind.DISPATCH, 1, 0);
    openings.arrived(FrameKind.HEAT, 7, 0);
    assertThat(early).containsExactly(0L, 2L);
    openings.close();
    StepVerifier.create(openings.steps()).expectNext(2L).verifyComplete();
  }
}
