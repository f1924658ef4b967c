package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Reader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The Kubernetes example runs what the CLI accepts: every argument of its containers parses, and
 * every environment variable it sets is one the command reads (or one that only feeds another's
 * value, like {@code $(NAMESPACE)}).
 */
class KubernetesManifestTest {
  private static final Path MANIFEST =
      Path.of("..", "kubernetes", "moeflux-serve.yaml").toAbsolutePath().normalize();
  private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:([A-Z_]+)}");

  @Test
  void everyArgumentAndEnvironmentVariableIsOneTheCliAccepts() throws Exception {
    List<Map<String, Object>> containers = containers();
    assertThat(containers).isNotEmpty();
    for (Map<String, Object> container : containers) {
      List<String> args = strings(container.get("args"));
      assertThat(args).startsWith("serve");
      CommandLine cli = MoefluxCommand.commandLine();
      // throws, naming the argument, on anything the CLI does not accept
      CommandLine.ParseResult parsed = cli.parseArgs(args.toArray(String[]::new));
      CommandLine serve = parsed.subcommand().commandSpec().commandLine();
      Set<String> read = environmentRead(serve);
      List<Map<String, Object>> env = maps(container.get("env"));
      List<String> values = new ArrayList<>();
      env.forEach(var -> values.add(String.valueOf(var.get("value"))));
      for (Map<String, Object> var : env) {
        String name = (String) var.get("name");
        boolean feedsAnother = values.stream().anyMatch(v -> v.contains("$(" + name + ")"));
        assertThat(read.contains(name) || feedsAnother)
            .as("%s is read by serve (which reads %s) or feeds another variable", name, read)
            .isTrue();
      }
      assertThat(env.stream().map(var -> var.get("name")))
          .contains("MOEFLUX_RANK", "MOEFLUX_WORLD_SIZE", "MOEFLUX_PEERS", "MOEFLUX_SECRET_FILE");
      assertThat(container).containsKey("readinessProbe");
    }
  }

  @Test
  void thePeersAreTheMeshPortAndClientsAnotherOne() throws Exception {
    for (Map<String, Object> container : containers()) {
      List<String> args = strings(container.get("args"));
      String clientPort = args.get(args.indexOf("--port") + 1);
      String peers =
          maps(container.get("env")).stream()
              .filter(var -> "MOEFLUX_PEERS".equals(var.get("name")))
              .map(var -> (String) var.get("value"))
              .findFirst()
              .orElseThrow();
      assertThat(peers.split(",")).hasSize(4).noneMatch(peer -> peer.endsWith(":" + clientPort));
    }
  }

  /**
   * The variables the command's options read: their {@code ${env:NAME}} defaults, as written on the
   * option fields of the command and of its mixins (picocli hands out defaults already resolved).
   */
  private static Set<String> environmentRead(CommandLine command) {
    Set<String> names = new TreeSet<>();
    List<CommandSpec> specs = new ArrayList<>(List.of(command.getCommandSpec()));
    for (int i = 0; i < specs.size(); i++) {
      specs.addAll(specs.get(i).mixins().values());
      for (Class<?> type = specs.get(i).userObject().getClass();
          type != null;
          type = type.getSuperclass()) {
        for (Field field : type.getDeclaredFields()) {
          Option option = field.getAnnotation(Option.class);
          if (option != null) {
            Matcher matcher = ENV_DEFAULT.matcher(option.defaultValue());
            while (matcher.find()) {
              names.add(matcher.group(1));
            }
          }
        }
      }
    }
    return names;
  }

  private static List<Map<String, Object>> containers() throws Exception {
    List<Map<String, Object>> containers = new ArrayList<>();
    try (Reader reader = Files.newBufferedReader(MANIFEST, StandardCharsets.UTF_8)) {
      for (Object document : new Yaml().loadAll(reader)) {
        Map<String, Object> resource = map(document);
        if ("StatefulSet".equals(resource.get("kind"))) {
          Map<String, Object> pod = map(map(map(resource.get("spec")).get("template")).get("spec"));
          containers.addAll(maps(pod.get("containers")));
        }
      }
    }
    return containers;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value) {
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> maps(Object value) {
    return (List<Map<String, Object>>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<String> strings(Object value) {
    return (List<String>) value;
  }
}
