// A login of its own for the person a cluster is for (a student of a class: scripts/labs.sh), on machines
// the program reaches over SSH as their admin (vms, aws): a user with a password, in the docker group, that
// sshd lets in with that password. The password goes in on standard input, never in a script or a command
// line; the admin's own login is left as it is.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LOGIN_USER } from "../config";
import type { Host } from "../hosts/host";
import { hostConnection } from "./cluster";
import { forHosts, remoteBash, script } from "./scripts";

// sshd's own file, between markers: a Match block at its end applies to that user only, whatever the files
// included before it say (a cloud image's "PasswordAuthentication no").
const SSHD_BLOCK = `sshd_block() { $SUDO sed -i '/^# BEGIN dockercoins login$/,/^# END dockercoins login$/d' /etc/ssh/sshd_config; }
reload_sshd() {
  $SUDO sshd -t || fail "sshd's configuration does not check out (sshd -t above): left as it is"
  if [ -d /run/systemd/system ]; then $SUDO systemctl reload ssh 2>/dev/null || $SUDO systemctl reload sshd
  elif [ -s /run/sshd.pid ]; then $SUDO kill -HUP "$($SUDO cat /run/sshd.pid)"
  else fail "no way to reload sshd here (no systemd, no /run/sshd.pid)"; fi
}`;

function checkUser(user: string): string {
  if (!LOGIN_USER.test(user)) throw new Error(`invalid login name ${JSON.stringify(user)}`);
  return user;
}

/** Creates or updates the login USER with the password on standard input, idempotent. */
export function createLoginScript(user: string): string {
  const u = checkUser(user);
  return script(
    "login",
    `
${SSHD_BLOCK}
IFS= read -r password || true
[ -n "$password" ] || fail "no password on standard input"
if ! id ${u} >/dev/null 2>&1; then
  $SUDO useradd --create-home --shell /bin/bash ${u}
  log "created the login ${u}"
fi
printf '%s:%s\\n' ${u} "$password" | $SUDO chpasswd
$SUDO usermod -aG docker ${u}
sshd_block
printf '%s\\n' '# BEGIN dockercoins login' 'Match User ${u}' '  PasswordAuthentication yes' '# END dockercoins login' | $SUDO tee -a /etc/ssh/sshd_config >/dev/null
reload_sshd
log "${u} logs in with its password"
`,
  );
}

/** Removes the login USER, its home and its sshd block. */
export function deleteLoginScript(user: string): string {
  const u = checkUser(user);
  return script(
    "login",
    `
${SSHD_BLOCK}
if id ${u} >/dev/null 2>&1; then
  $SUDO pkill -KILL -u ${u} 2>/dev/null || true
  $SUDO userdel --remove ${u} 2>/dev/null || $SUDO userdel ${u}
  log "removed the login ${u}"
fi
sshd_block
reload_sshd
`,
  );
}

export interface LoginArgs {
  hosts: Host[];
  /** The admin's key, with which the program reaches every host. */
  privateKey: pulumi.Input<string>;
  user: string;
  /** A secret. */
  password: pulumi.Input<string>;
  /** What installs Docker on the hosts (the docker group must exist). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The login on every host; a machine re-created (its identity changed) gets it again. */
export class Login extends pulumi.ComponentResource {
  /** `ssh [-p port] user@address` of the first host, for the person's card. */
  public readonly sshCommand: pulumi.Output<string>;

  constructor(name: string, args: LoginArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:swarm:Login", name, {}, opts);
    const user = checkUser(args.user);
    for (const h of args.hosts) {
      new command.remote.Command(
        `${name}-${h.name}`,
        {
          connection: hostConnection(h, args.privateKey),
          create: pulumi.output(h.identity ?? "").apply((id) => remoteBash(forHosts([id], createLoginScript(user)))),
          delete: remoteBash(deleteLoginScript(user)),
          stdin: pulumi.secret(pulumi.interpolate`${args.password}\n`),
        },
        { parent: this, dependsOn: args.dependsOn },
      );
    }
    const first = args.hosts[0];
    this.sshCommand = pulumi.all([first.sshHost, first.sshPort]).apply(([host, port]) => `ssh ${port === 22 ? "" : `-p ${port} `}${user}@${host}`);
    this.registerOutputs({ sshCommand: this.sshCommand });
  }
}
