package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * serve's options for one rank of a group spread over processes, refused before anything starts.
 */
class ServeOptionsTest {
  private static final String PEERS = "127.0.0.1:7101,127.0.0.1:7102";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--ranks 2 --rank 0 --world 2 --peers " + PEERS + "|give one or the other",
        "--transport LOCAL --rank 0 --world 2 --peers " + PEERS + "|give one or the other",
        "--rank 0 --world 2 --peers " + PEERS + " --port 7101|--port 7101 is this rank's mesh port",
        "--rank 1 --world 2 --peers " + PEERS + " --port 7102|--port 7102 is this rank's mesh port",
        "--rank 0 --world 3 --peers " + PEERS + "|--peers lists 2 addresses for a world of 3",
        "--rank 2 --world 2 --peers " + PEERS + "|--rank must be in 0..1, got 2",
        "--rank 0 --peers " + PEERS + "|--rank, --world and --peers are required",
        "--rank 0 --world 2 --peers "
            + PEERS
            + " --port 7200 --role fast|--role must be decode,"
            + " prefill or mixed, got fast",
        "--ranks 1 --check|--check needs --rank, --world and --peers"
      })
  void isRefusedSayingWhy(String args, String message) {
    CliRun cli = new CliRun();
    assertThat(cli.run(("serve " + args).split(" "))).isEqualTo(2);
    assertThat(cli.err()).contains(message);
  }
}
