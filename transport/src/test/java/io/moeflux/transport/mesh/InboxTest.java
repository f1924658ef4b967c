package io.moeflux.transport.mesh;

import static org.assertj.core.api.Assertions.assertThat;

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
  private final Inbox inbox = new Inbox(0, 3, Duration.ofSeconds(5).toNanos(), protocolErrors::add);

  private static ByteBuf frame(FrameKind kind, long step, int source) {
    return FrameHeaderCodec.allocate(ByteBufAllocator.DEFAULT, kind, step, 0, source, 0, 0);
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
