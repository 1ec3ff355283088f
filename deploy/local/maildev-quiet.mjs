// Loaded into MailDev before it starts (deploy/local/mail). Logs never carry personal
// data, and MailDev's own line for each message names its sender, first recipient and
// subject: this one says only that a message came, and where to read it. Start-up lines
// and errors are MailDev's own.
import { Logger } from "../../node_modules/maildev/dist/utils/logger.js";

Logger.prototype.email = function email() {
  if (!this.silent) {
    console.log(`${new Date().toISOString()} mail: a message was caught (see the mail page)`);
  }
};
Logger.prototype.emailContents = function emailContents() {};
