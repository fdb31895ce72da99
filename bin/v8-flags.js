/**
 * V8 flags the `rackboot` command sets before it loads the bundle, by subcommand.
 *
 * `serve` compiles every function at start (`--no-lazy`). V8 otherwise parses and compiles a function on its
 * first call. So the first PXE machine of a power-on paid for compiling the whole DHCP, TFTP and HTTP path,
 * while it waited. Measured in a 50-node storm (bench/RESULTS.md, session 8): the first OFFER came 6 ms after
 * its DISCOVER and the first ACK 7 ms after its REQUEST (dnsmasq: under 1 ms each); the first TFTP block
 * came 13 ms after the RRQ; the first script took 7 ms and the first kernel's headers 3 ms on an idle server.
 * The cost is paid once, at start: about 0.15 s and 10 MB more. Other subcommands are short-lived and keep
 * V8's default.
 *
 * @param {readonly string[]} args the command line after `rackboot`
 * @returns {string[]}
 */
export function v8FlagsFor(args) {
  return args[0] === 'serve' ? ['--no-lazy'] : []
}
