// ESLint with type information (typescript-eslint) and Pulumi's two Output rules.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "test-artifacts/**",
      "eslint.config.mjs",
      "app/eslint.config.mjs",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // Test and ops harnesses read SDK internals and loosely typed JSON.
    files: ["test/**/*.ts", "bench/**/*.ts", "ops/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
