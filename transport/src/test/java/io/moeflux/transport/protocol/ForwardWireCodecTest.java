package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class ForwardWireCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void aRequestRoundTrips() {
    float[] data = {1f, 2f, 3f, 4f, 5f, 6f};
    ByteBuf bytes = ForwardWireCodec.encodeRequest(alloc, -1, 2, 3, data);
    try {
      assertThat(bytes.readableBytes()).isEqualTo(16 + 24);
      assertThat(bytes.getIntLE(0)).isEqualTo(ForwardWireCodec.VERSION);
      ForwardWireCodec.Request request = ForwardWireCodec.decodeRequest(bytes, 3);
      assertThat(request.rank()).isEqualTo(-1);
      assertThat(request.tokens()).isEqualTo(2);
      assertThat(request.hidden()).isEqualTo(3);
      assertThat(request.data()).containsExactly(data);
    } finally {
      bytes.release();
    }
  }

  @Test
  void aResponseRoundTripsAndItsHeaderReadsInPlace() {
    float[] out = {0.5f, -0.5f, 1.5f, -1.5f};
    int[] ids = {3, 1, 0, 2};
    float[] weights = {0.75f, 0.25f, 0.5f, 0.5f};
    ByteBuf bytes =
        ForwardWireCodec.encodeResponse(
            alloc, new ForwardWireCodec.Response(1, 42L, 2, 2, 2, out, ids, weights));
    try {
      assertThat(bytes.readableBytes()).isEqualTo(28 + 16 + 32);
      assertThat(ForwardWireCodec.responseRank(bytes)).isEqualTo(1);
      assertThat(ForwardWireCodec.responseStep(bytes)).isEqualTo(42L);
      assertThat(ForwardWireCodec.responseTokens(bytes)).isEqualTo(2);
      ForwardWireCodec.Response response = ForwardWireCodec.decodeResponse(bytes);
      assertThat(response.rank()).isEqualTo(1);
      assertThat(response.step()).isEqualTo(42L);
      assertThat(response.topK()).isEqualTo(2);
      assertThat(response.data()).containsExactly(out);
      assertThat(response.topkIds()).containsExactly(ids);
      assertThat(response.topkWeights()).containsExactly(weights);
    } finally {
      bytes.release();
    }
  }

  @Test
  void anEmptyResponseRoundTrips() {
    ByteBuf bytes =
        ForwardWireCodec.encodeResponse(
            alloc,
            new ForwardWireCodec.Response(0, 7, 0, 8, 0, new float[0], new int[0], new float[0]));
    try {
      assertThat(ForwardWireCodec.decodeResponse(bytes).tokens()).isZero();
    } finally {
      bytes.release();
    }
  }

  @Test
  void aBadRequestIsRefusedNamingTheField() {
    ByteBuf request = ForwardWireCodec.encodeRequest(alloc, 0, 1, 4, new float[4]);
    ByteBuf cut = request.slice(0, request.readableBytes() - 4);
    ByteBuf header = request.slice(0, 8);
    try {
      assertThatThrownBy(() -> ForwardWireCodec.decodeRequest(request, 8))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("moe.forward request has hidden size 4, the model's is 8");
      assertThatThrownBy(() -> ForwardWireCodec.decodeRequest(cut, 4))
          .hasMessage("moe.forward request of 28 bytes, expected 32 for 1 tokens of hidden size 4");
      assertThatThrownBy(() -> ForwardWireCodec.decodeRequest(header, 4))
          .hasMessageContaining("shorter than its 16-byte header");
      assertThatThrownBy(() -> ForwardWireCodec.decodeResponse(request))
          .hasMessage("moe.forward response of 32 bytes, expected 28");
      assertThatThrownBy(() -> ForwardWireCodec.decodeResponse(header))
          .hasMessageContaining("not a moe.forward response: 8 bytes, version 1");
      assertThatThrownBy(() -> ForwardWireCodec.encodeRequest(alloc, 0, 2, 4, new float[4]))
          .hasMessageContaining("needs 8 hidden values, got 4");
    } finally {
      request.release();
    }
  }
}
