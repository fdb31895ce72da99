/**
 * The nginx the benches compare against: Debian's defaults where they matter (worker_processes auto,
 * sendfile on), nothing else (no gzip, no access log), every temp path inside the run's own work dir.
 */
export function nginxConf(o: {
  /** Work dir: pid file and temp paths. */
  work: string
  /** `address:port` to listen on. */
  listen: string
  root: string
  /** Runs workers as root, for a private (0700) work dir with 0600 files. */
  userRoot?: boolean
  /** Extra lines inside the server block. */
  serverExtra?: string
  /** Extra lines inside the http block (log_format, access_log: the default stays off). */
  httpExtra?: string
}): string {
  return `${o.userRoot ? 'user root;\n' : ''}worker_processes auto;
error_log stderr warn;
pid ${o.work}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path ${o.work}/client_body;
  proxy_temp_path ${o.work}/proxy;
  fastcgi_temp_path ${o.work}/fastcgi;
  uwsgi_temp_path ${o.work}/uwsgi;
  scgi_temp_path ${o.work}/scgi;
${o.httpExtra ?? ''}  server {
    listen ${o.listen};
    root ${o.root};
${o.serverExtra ?? ''}  }
}
`
}
