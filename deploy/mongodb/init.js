// Run by the mongodb-init container of docker-compose.yml (mongosh --nodb), as root: starts
// the one-node replica set on the first run (transactions need one), then gives each
// service a user that can read and write its own database and nothing else
// (backbone/settings.py: Settings.database_name). Run again, it sets passwords and roles
// again. Passwords come from the environment only.
const SERVICES = ["referral", "casework", "directory", "notifications", "reporting"];
const DATABASE_PREFIX = "familyties_";

function secret(name) {
  const value = process.env[name] || "";
  if (!/^[A-Za-z0-9_-]{16,}$/.test(value)) {
    throw new Error(`set ${name}: 16 or more letters, digits, _ or - (openssl rand -hex 32)`);
  }
  return value;
}

// Commands answer ok: 0 or throw, depending on the shell's version: treat both alike.
function run(db, command) {
  try {
    return db.runCommand(command);
  } catch (error) {
    return { ok: 0, codeName: error.codeName, errmsg: error.message };
  }
}

const admin = new Mongo("mongodb://mongodb:27017/?directConnection=true").getDB("admin");
admin.auth(process.env.MONGO_ROOT_USERNAME, secret("MONGO_ROOT_PASSWORD"));

const status = run(admin, { replSetGetStatus: 1 });
if (!status.ok) {
  if (status.codeName !== "NotYetInitialized") throw new Error(status.errmsg);
  const members = [{ _id: 0, host: "mongodb:27017" }];
  const started = run(admin, { replSetInitiate: { _id: "rs0", members } });
  if (!started.ok) throw new Error(started.errmsg);
}
for (let tries = 0; !run(admin, { hello: 1 }).isWritablePrimary; tries++) {
  if (tries > 60) throw new Error("the replica set has no primary after 30 s");
  sleep(500);
}

for (const service of SERVICES) {
  const database = DATABASE_PREFIX + service;
  const pwd = secret(`${service.toUpperCase()}_MONGODB_PASSWORD`);
  const roles = [{ role: "readWrite", db: database }];
  if (admin.getUser(service)) {
    admin.updateUser(service, { pwd, roles });
  } else {
    admin.createUser({ user: service, pwd, roles });
  }
  print(`user ${service}: readWrite on ${database} only`);
}
