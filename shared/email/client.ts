// The SES (v2) client, created once at module scope; the region comes from the function's environment.
import { SESv2Client } from "@aws-sdk/client-sesv2";

export const ses = new SESv2Client({ maxAttempts: 4 });
