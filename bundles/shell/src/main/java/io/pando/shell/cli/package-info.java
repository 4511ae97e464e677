/**
 * Pando's Karaf console commands (scope {@code pando}). Each command is a thin {@code @Service @Command} action
 * over OSGi services: it reads or changes state through a service and prints a {@link
 * org.apache.karaf.shell.support.table.ShellTable}, or, with {@code --json}, one JSON object or array as its last
 * line for scripts. A command that cannot do what it was asked throws, so the console exits non-zero.
 *
 * <p>Private to the {@code io.pando.shell} bundle: Karaf finds the commands through the bundle's
 * {@code Karaf-Commands} header.
 */
package io.pando.shell.cli;
