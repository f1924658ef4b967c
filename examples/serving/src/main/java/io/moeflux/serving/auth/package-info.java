/**
 * Who may use a serving process: bearer tokens, checked on RSocket (the authentication extension,
 * in SETUP or per request) and on HTTP ({@code Authorization: Bearer}).
 */
@NullMarked
package io.moeflux.serving.auth;

import org.jspecify.annotations.NullMarked;
