package io.moeflux.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ResidentMemoryTest {

  @Test
  void theStatusLinesAreReadInBytes() {
    ResidentMemory m =
        ResidentMemory.parse(
            List.of(
                "Name:\tjava",
                "VmHWM:\t  204800 kB",
                "VmRSS:\t  102400 kB",
                "RssAnon:\t   81920 kB",
                "RssFile:\t   20480 kB",
                "Threads:\t30"));
    assertThat(m.rss()).isEqualTo(100L << 20);
    assertThat(m.peak()).isEqualTo(200L << 20);
    assertThat(m.anonymous()).isEqualTo(80L << 20);
    assertThat(m.fileBacked()).isEqualTo(20L << 20);
  }

  @Test
  void aMissingFieldIsNamed() {
    assertThatThrownBy(() -> ResidentMemory.parse(List.of("VmRSS:\t1 kB")))
        .hasMessageContaining("VmHWM");
  }
}
