// A resource monitor for the SDK's mock mode that hands every RegisterResourceRequest (type, name,
// parent, dependencies, options) to the Deployment instead of a `newResource` mock.
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { deserializeProperties, serializeProperties } from "@pulumi/pulumi/runtime/rpc";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import type { Deployment } from "./deployment";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const resproto = require("@pulumi/pulumi/proto/resource_pb");

type Callback = (err: Error | null, resp?: unknown) => void;

export class EngineMonitor extends MockMonitor {
  constructor(private readonly deployment: Deployment) {
    super({
      newResource() {
        throw new Error("unreachable: the engine monitor registers resources itself");
      },
      call(args) {
        throw new Error(`test engine does not implement provider function ${args.token}`);
      },
    });
  }

  async registerResource(req: any, callback: Callback): Promise<void> {
    try {
      const urn: string = (this as any).newUrn(req.getParent(), req.getType(), req.getName());
      const propertyDependencies: Record<string, string[]> = {};
      req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
        propertyDependencies[key] = deps.getUrnsList();
      });
      const result = await this.deployment.register({
        urn,
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        parent: req.getParent(),
        provider: req.getProvider(),
        inputs: deserializeProperties(req.getObject()),
        dependencies: req.getDependenciesList(),
        propertyDependencies,
        options: {
          deleteBeforeReplace: req.getDeletebeforereplacedefined()
            ? req.getDeletebeforereplace()
            : undefined,
          retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : false,
          protect: req.hasProtect() ? req.getProtect() : false,
          ignoreChanges: req.getIgnorechangesList(),
          replaceOnChanges: req.getReplaceonchangesList(),
        },
      });
      const serialized = await serializeProperties("", result.outputs);
      this.resources.set(urn, { urn, id: result.id || null, state: serialized });
      const response = new resproto.RegisterResourceResponse();
      response.setUrn(urn);
      response.setId(result.id);
      response.setObject(structproto.Struct.fromJavaScript(serialized));
      callback(null, response);
    } catch (error) {
      callback(error as Error);
    }
  }

  async readResource(req: any, callback: Callback): Promise<void> {
    callback(
      new Error(`test engine does not implement reading existing resources (${req.getType()})`),
    );
  }
}
