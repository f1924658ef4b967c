package io.moeflux.cli;

import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.serving.http.HttpAccess;
import io.moeflux.transport.TlsConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Who may use {@code serve}: bearer tokens from a file, /status open for probes or not, TLS; and
 * the rule that an address other hosts can reach is never served without tokens.
 */
final class ServeAccessOptions {
  @Option(
      names = "--auth-token-file",
      defaultValue = "${env:MOEFLUX_AUTH_TOKEN_FILE}",
      paramLabel = "FILE")
  @Nullable Path tokenFile;

  @Option(names = "--http-open-status")
  boolean openStatus;

  @Mixin TlsOptions tls = new TlsOptions();

  /** The accepted tokens, or null when none were given. */
  @Nullable BearerTokens tokens() {
    return tokenFile == null ? null : BearerTokens.fromFile(tokenFile);
  }

  /**
   * Checks that {@code bind} may be served with {@code tokens}.
   *
   * @throws IllegalArgumentException when other hosts could reach it and no tokens are given
   */
  static void checkBind(String bind, @Nullable BearerTokens tokens) {
    if (tokens == null && !isLoopback(bind)) {
      throw new IllegalArgumentException(
          "serve binds "
              + bind
              + ", not a loopback address: every route and /metrics would answer anyone who"
              + " reaches it. Give --auth-token-file FILE (bearer tokens, one per line), or bind"
              + " 127.0.0.1");
    }
  }

  HttpAccess http(@Nullable BearerTokens tokens, @Nullable TlsConfig tlsConfig) {
    return new HttpAccess(tokens, openStatus, tlsConfig, HttpAccess.DEFAULT_HEADER_TIMEOUT);
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
