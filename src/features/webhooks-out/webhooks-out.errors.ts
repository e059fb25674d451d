import { AppError, defineErrors } from '../../lib/errors';

export const WEBHOOKS_OUT_ERRORS = defineErrors({
  WEBHOOK_URL_REFUSED: 'This URL cannot receive webhooks (HTTPS to a public host only)',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    webhooksOut: typeof WEBHOOKS_OUT_ERRORS;
  }
}

/** The reason stays generic on the wire: which internal ranges we refuse is no one's business. */
export const urlRefused = (reason: string) => new AppError(422, 'WEBHOOK_URL_REFUSED', { reason });
