package io.moeflux.cli.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TokenSplitTest {

  @Test
  void chunksAreContiguousUnequalAndRankZeroIsIdleWhenThereAreSeveral() {
    TokenSplit split = TokenSplit.of(13, 3);
    assertThat(split.toString()).isEqualTo("[0, 4, 9]");
    assertThat(split.start(2)).isEqualTo(4);
    assertThat(split.largest()).isEqualTo(9);
    assertThat(TokenSplit.of(13, 1).toString()).isEqualTo("[13]");
    assertThat(TokenSplit.of(100, 4).toString()).isEqualTo("[0, 16, 34, 50]");
    assertThat(TokenSplit.of(0, 3).toString()).isEqualTo("[0, 0, 0]");
    assertThat(TokenSplit.of(2, 4).toString()).isEqualTo("[0, 0, 1, 1]");
  }

  @Test
  void everyTokenIsInExactlyOneChunkInOrder() {
    for (int ranks = 1; ranks <= 9; ranks++) {
      for (int tokens = 0; tokens <= 40; tokens++) {
        TokenSplit split = TokenSplit.of(tokens, ranks);
        int next = 0;
        for (int r = 0; r < ranks; r++) {
          assertThat(split.start(r)).isEqualTo(next);
          assertThat(split.tokens(r)).isNotNegative();
          next += split.tokens(r);
        }
        assertThat(next).isEqualTo(tokens);
      }
    }
  }

  @Test
  void aNegativeCountIsRefused() {
    assertThatThrownBy(() -> TokenSplit.of(-1, 2)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenSplit.of(3, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
