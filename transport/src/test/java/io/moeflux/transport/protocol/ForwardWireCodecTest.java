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

  @Test
  void aVersion2RequestNamesItsLayer() {
    float[] data = {1f, 2f, 3f, 4f};
    ByteBuf bytes = ForwardWireCodec.encodeLayerRequest(alloc, 2, 17, 1, 4, data);
    try {
      assertThat(bytes.readableBytes()).isEqualTo(20 + 16);
      assertThat(ForwardWireCodec.version(bytes)).isEqualTo(2);
      ForwardWireCodec.Request request = ForwardWireCodec.decodeRequest(bytes, 4);
      assertThat(request.version()).isEqualTo(2);
      assertThat(request.rank()).isEqualTo(2);
      assertThat(request.layer()).isEqualTo(17);
      assertThat(request.data()).containsExactly(data);
      assertThatThrownBy(() -> ForwardWireCodec.decodeRequest(bytes, 5))
          .hasMessage("moe.forward request has hidden size 4, the model's is 5");
    } finally {
      bytes.release();
    }
    ByteBuf v1 = ForwardWireCodec.encodeRequest(alloc, 0, 1, 2, new float[2]);
    try {
      assertThat(ForwardWireCodec.decodeRequest(v1, 2).layer()).isEqualTo(-1);
      v1.setIntLE(0, 3);
      assertThatThrownBy(() -> ForwardWireCodec.decodeRequest(v1, 2))
          .hasMessage("moe.forward request has wire version 3, this server speaks 1 and 2");
    } finally {
      v1.release();
    }
  }

  @Test
  void aVersion2ResponseCarriesStatusRankLayerAndPlacementVersion() {
    float[] out = {0.5f, -0.5f, 1.5f, -1.5f};
    int[] ids = {3, 1, 0, 2};
    float[] weights = {0.75f, 0.25f, 0.5f, 0.5f};
    ByteBuf bytes =
        ForwardWireCodec.encodeLayerResponse(
            alloc, ForwardWireCodec.LayerResponse.ran(1, 5, 42L, 3L, 2, 2, 2, out, ids, weights));
    try {
      assertThat(bytes.readableBytes()).isEqualTo(32 + 12 + 16 + 32);
      ForwardWireCodec.LayerResponse response = ForwardWireCodec.decodeLayerResponse(bytes);
      assertThat(response.ok()).isTrue();
      assertThat(response.rank()).isEqualTo(1);
      assertThat(response.layer()).isEqualTo(5);
      assertThat(response.step()).isEqualTo(42L);
      assertThat(response.placementVersion()).isEqualTo(3L);
      assertThat(response.data()).containsExactly(out);
      assertThat(response.topkIds()).containsExactly(ids);
      assertThat(response.topkWeights()).containsExactly(weights);
    } finally {
      bytes.release();
    }
  }

  @Test
  void aRefusalCarriesItsMessageInBand() {
    ByteBuf bytes =
        ForwardWireCodec.encodeLayerResponse(
            alloc, ForwardWireCodec.LayerResponse.refused(-1, 4, "layer 4 is a dense layer – é"));
    try {
      ForwardWireCodec.LayerResponse response = ForwardWireCodec.decodeLayerResponse(bytes);
      assertThat(response.ok()).isFalse();
      assertThat(response.status()).isEqualTo(ForwardWireCodec.STATUS_REFUSED);
      assertThat(response.layer()).isEqualTo(4);
      assertThat(response.message()).isEqualTo("layer 4 is a dense layer – é");
      assertThatThrownBy(() -> ForwardWireCodec.decodeLayerResponse(bytes.slice(0, 20)))
          .hasMessageContaining("not a version-2 moe.forward response: 20 bytes");
    } finally {
      bytes.release();
    }
    ByteBuf longMessage =
        ForwardWireCodec.encodeLayerResponse(
            alloc, ForwardWireCodec.LayerResponse.refused(0, 0, "x".repeat(10_000)));
    try {
      assertThat(ForwardWireCodec.decodeLayerResponse(longMessage).message())
          .hasSize(ForwardWireCodec.MAX_MESSAGE_BYTES);
    } finally {
      longMessage.release();
    }
  }
}
