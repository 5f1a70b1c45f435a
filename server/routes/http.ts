// Node-only. What the JSON API routes share: the 404 answer and async handlers whose rejections
// reach Express's error handler.
import type { Request, Response, NextFunction } from 'express';

export function notFound(res: Response, what = 'not found'): void {
  res.status(404).json({ error: what });
}

export type Handler = (req: Request, res: Response) => Promise<void> | void;

export const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve(h(req, res)).catch(next);
};
