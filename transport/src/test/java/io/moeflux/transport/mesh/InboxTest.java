package io.moeflux.transport.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.AbortFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.test.StepVerifier;

@ExtendWith(NoLeaks.class)
class InboxTest {
  private final List<MeshException> protocolErrors = new ArrayList<>();
  private final InboundLimits limits =
      InboundLimits.builder()
          .stepWindow(2)
          .maxFrameBytes(1024)
          .maxBytesPerPeer(4096)
          .maxHeldPhases(3)
          .build();
  private final long timeout = Duration.ofSeconds(5).toNanos();
  private final List<Boolean> heldWhenOpened = new ArrayList<>();
  private final Inbox inbox =
      new Inbox(
          0, 3, timeout, limits, protocolErrors::add, () -> heldWhenOpened.add(holdsPhases()));

  private boolean holdsPhases() {
    return inbox.holdsPhases();
  }

  private static ByteBuf frame(FrameKind kind, long step, int source) {
    return FrameHeaderCodec.allocate(ByteBufAllocator.DEFAULT, kind, step, 0, source, 0, 0);
  }

  private static ByteBuf sized(FrameKind kind, long step, int source, int bodyBytes) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            ByteBufAllocator.DEFAULT, kind, step, 0, source, bodyBytes / 4, bodyBytes);
    return frame.writeZero(bodyBytes);
  }

  private void complete(long step) {
    inbox.deliver(1, frame(FrameKind.DISPATCH, step, 1));
    inbox.deliver(2, frame(FrameKind.DISPATCH, step, 2));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.DISPATCH, step, 0)))
        .assertNext(PeerFrames::release)
        .verifyComplete();
  }

  @Test
  void aDataFrameMoreThanTheWindowAheadIsAProtocolErrorNamingItsSender() {
    complete(10);
    inbox.deliver(1, frame(FrameKind.COMBINE, 12, 1));
    assertThat(protocolErrors).isEmpty();
    inbox.deliver(2, frame(FrameKind.DISPATCH, 13, 2));
    assertThat(protocolErrors)
        .singleElement()
        .satisfies(
            e ->
                assertThat(e)
                    .hasMessage(
                        "rank 0: rank 2 sent a DISPATCH frame for step 13, more than 2 steps past"
                            + " step 10"));
    inbox.fail(protocolErrors.get(0));
  }

  @Test
  void heldBytesAndControlPhasesPerPeerAreCapped() {
    for (int step = 0; step < 4; step++) {
      inbox.deliver(1, sized(FrameKind.MIGRATION, step, 1, 1000 - 24));
    }
    assertThat(protocolErrors)
        .singleElement()
        .satisfies(
            e -> assertThat(e).hasMessageContaining("rank 1 sent a MIGRATION frame while 3"));
    assertThat(inbox.heldBytes(1)).isEqualTo(3000);
    for (int step = 0; step < 5; step++) {
      inbox.deliver(2, sized(FrameKind.DISPATCH, step, 2, 1000 - 24));
    }
    assertThat(protocolErrors.get(1))
        .hasMessageContaining("rank 2 sent frames that would make this rank hold more than 4096");
    assertThat(inbox.heldBytes(2)).isEqualTo(4000);
    inbox.fail(protocolErrors.get(0));
    assertThat(inbox.heldBytes(1)).isZero();
    assertThat(inbox.heldBytes(2)).isZero();
  }

  @Test
  void theSweeperHearsOfEveryPhaseOnceItIsOpenAndTheInboxIsEmptyAfterwards() {
    assertThat(inbox.holdsPhases()).isFalse();
    inbox.deliver(1, frame(FrameKind.DISPATCH, 0, 1));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.DISPATCH, 0, 0)))
        .then(() -> inbox.deliver(2, frame(FrameKind.DISPATCH, 0, 2)))
        .assertNext(PeerFrames::release)
        .verifyComplete();
    // told after each open, with the phase already there for the sweep to see
    assertThat(heldWhenOpened).isNotEmpty().containsOnly(true);
    assertThat(inbox.holdsPhases()).isFalse();
  }

  @Test
  void orphanPhasesAreSweptAndTheirFramesReleased() {
    // a receive given up here: its frames arrive after it, and nobody will ask again
    inbox.receive(new PhaseKey(FrameKind.DISPATCH, 0, 0)).subscribe().dispose();
    inbox.deliver(1, frame(FrameKind.DISPATCH, 0, 1));
    inbox.deliver(1, sized(FrameKind.HEAT, 7, 1, 16));
    assertThat(inbox.heldBytes(1)).isEqualTo(24 + 40);
    complete(5);
    inbox.sweep(System.nanoTime());
    // DATA more than W steps behind the last completed step: dropped; the HEAT phase waits
    assertThat(inbox.heldBytes(1)).isEqualTo(40);
    inbox.sweep(System.nanoTime() + 2 * timeout + 1);
    assertThat(inbox.heldBytes(1)).isZero();
    assertThat(protocolErrors).isEmpty();
  }

  @Test
  void aFailureAfterAPhaseWasHandedOverLeavesItsFramesToTheReceiver() {
    inbox.deliver(1, sized(FrameKind.COMBINE, 3, 1, 8));
    inbox.deliver(2, sized(FrameKind.COMBINE, 3, 2, 8));
    PeerFrames frames = inbox.receive(new PhaseKey(FrameKind.COMBINE, 3, 0)).block();
    inbox.fail(new MeshException("later"));
    assertThat(frames.frame(1).refCnt()).isEqualTo(1);
    assertThat(frames.count(2)).isEqualTo(2);
    frames.release();
  }

  @Test
  void anAbortFromAPeerFailsTheStepsDataPhasesButNotTheInbox() {
    inbox.deliver(1, frame(FrameKind.DISPATCH, 4, 1));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.DISPATCH, 4, 0)))
        .then(() -> inbox.deliver(2, AbortFrameCodec.encode(ByteBufAllocator.DEFAULT, 4, 2, "why")))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(StepAbortedException.class)
                    .hasMessage("rank 0: step 4 aborted by rank 2: why"))
        .verify(Duration.ofSeconds(1));
    // frames of the step that arrive later are released at once
    inbox.deliver(1, frame(FrameKind.COMBINE, 4, 1));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.GATHER, 4, 0)))
        .expectError(StepAbortedException.class)
        .verify(Duration.ofSeconds(1));
    // the control lane and the next step are untouched
    inbox.deliver(1, frame(FrameKind.SYNC, 4, 1));
    inbox.deliver(2, frame(FrameKind.SYNC, 4, 2));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.SYNC, 4, 0)))
        .assertNext(PeerFrames::release)
        .verifyComplete();
    inbox.deliver(1, frame(FrameKind.DISPATCH, 5, 1));
    inbox.deliver(2, frame(FrameKind.DISPATCH, 5, 2));
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.DISPATCH, 5, 0)))
        .assertNext(PeerFrames::release)
        .verifyComplete();
    assertThat(inbox.failed()).isFalse();
    assertThat(protocolErrors).isEmpty();
  }

  @Test
  void aMalformedAbortIsAProtocolError() {
    ByteBuf lying =
        FrameHeaderCodec.allocate(ByteBufAllocator.DEFAULT, FrameKind.ABORT, 1, -1, 1, 9, 0);
    inbox.deliver(1, lying);
    assertThat(protocolErrors)
        .singleElement()
        .satisfies(e -> assertThat(e).hasMessageContaining("rank 0: rank 1 sent"));
  }

  @Test
  void abortFramesAreNotReceivedDirectly() {
    StepVerifier.create(inbox.receive(new PhaseKey(FrameKind.ABORT, 1, 0)))
        .expectError(IllegalArgumentException.class)
        .verify(Duration.ofSeconds(1));
  }
}
