/** The IDE's settings (`ide` in the gateway configuration). */
import { z } from 'zod';

export const ideConfigSchema = z.object({
  /**
   * Serve GraphiQL to a browser that opens /graphql (IDE_ENABLED). The page and its assets come
   * from the gateway's own dependencies, hold no data and need no token; every operation the page
   * sends is authenticated like any other. @default true outside production, false in production
   * (where introspection is off, so the page could not show the schema)
   */
  enabled: z.boolean().optional(),
  /**
   * A development token the page puts in its Authorization header (IDE_DEV_TOKEN; `npm start`
   * passes the one it prints). Only with AUTH_MODE=jwt, and handed out only to a browser on this
   * machine (loopback address and Host, no proxy between) while the token still verifies.
   */
  developmentToken: z.string().min(1).optional(),
});

export type IdeConfig = z.infer<typeof ideConfigSchema>;
