package io.moeflux.transport.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

class LeakRecorderTest {

  @Test
  void aLeakedBufferIsCaught() {
    assertThat(LeakRecorder.isInstalled()).isTrue();
    leak();
    assertThatThrownBy(LeakRecorder::assertNoLeaks)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("leak");
    LeakRecorder.assertNoLeaks();
  }

  private static void leak() {
    ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(64);
    buf.writeLong(42);
  }
}
