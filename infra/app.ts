// CDK entry point (cdk.json "app"): `npx cdk synth -c stage=dev`; cdk-nag AwsSolutions runs as a validation plugin.
import { buildApp } from "./build-app.ts";

buildApp().app.synth();
