package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** The help texts live in {@code messages.properties}: every command and option must find one. */
class HelpTextTest {
  @Test
  void everyCommandAndEveryOptionHasAHelpText() {
    List<String> undescribed = new ArrayList<>();
    collectUndescribed(MoefluxCommand.commandLine(), undescribed);
    assertThat(undescribed).isEmpty();
  }

  @Test
  void aCommandsOwnTextWinsOverTheSharedOne() {
    CommandLine cli = MoefluxCommand.commandLine();
    assertThat(description(cli.getSubcommands().get("verify"), "--ranks"))
        .isEqualTo("Ranks in this JVM (default: 4).");
    assertThat(description(cli.getSubcommands().get("rebalance"), "--ranks"))
        .isEqualTo("Ranks the slots are split over.");
  }

  private static void collectUndescribed(CommandLine cli, List<String> undescribed) {
    CommandSpec spec = cli.getCommandSpec();
    if (String.join("", spec.usageMessage().description()).isBlank()) {
      undescribed.add(spec.qualifiedName());
    }
    for (OptionSpec option : spec.options()) {
      if (String.join("", option.description()).isBlank()) {
        undescribed.add(spec.qualifiedName() + " " + option.longestName());
      }
    }
    cli.getSubcommands().values().forEach(sub -> collectUndescribed(sub, undescribed));
  }

  private static String description(CommandLine cli, String option) {
    return String.join("", cli.getCommandSpec().findOption(option).description());
  }
}
